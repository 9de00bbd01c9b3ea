"""Studio: the web UI `maas serve` serves at `/studio` (issue 14).

Server-rendered pages (Jinja2) over the same services the management API calls, acting as the
signed-in principal: Studio is a client of the control plane, not a second set of rules. Plain
HTML forms and links work before any JavaScript runs; htmx (vendored, `static/vendor/htmx`)
and `static/app.js` only enhance them. See `docs/studio.md` and, for adding a page,
`docs/architecture.md` ("Add a Studio page").

- `app.py`: `install(app)` puts Studio into the control plane's FastAPI app (routes, static
  files, headers, error pages, the `/` redirect);
- `context.py`: the signed-in `Studio` context every page gets (caller, workspace, CSRF token);
- `render.py`: the Jinja2 environment and the page/redirect helpers;
- `nav.py`: the sidebar;
- `routes/`: one module per area (`auth`, `home`, `workspace`, `catalog`);
- `templates/`, `static/`.
"""
