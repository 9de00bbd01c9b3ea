"""Studio's page routers, one module per area; `maas.web.app.PAGES` lists them."""
