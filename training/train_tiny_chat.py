"""Train ``maas-tiny-chat``, the small chat model that MaaS ships so ``maas serve`` works offline.

Why: a fresh install has no model weights and may have no network, yet ``maas serve`` should
answer a chat request. So the repository ships a tiny Llama-architecture causal LM in Hugging Face
format, and this script is how it is made (the shipped files are its output, nothing else).

What it guarantees:
* Only offline, openly licensed text from Debian packages is read: WordNet 3.0 (``wordnet``),
  the Python 3.11 documentation sources (``python3.11-doc``) and a curated subset of the
  ``fortunes`` cookie files. A missing corpus stops the script with the ``apt-get`` line to run.
* The output folder loads through ``AutoTokenizer`` / ``AutoModelForCausalLM.from_pretrained``:
  byte-level BPE with chat-turn special tokens, a Jinja ``chat_template``, ``eos_token`` equal
  to the end-of-turn token (so generation stops after one answer), float32 safetensors.
* Everything is seeded. ``--minutes`` stops training when the budget is spent (the cosine schedule
  follows elapsed time, so the step count depends on the machine's speed and is printed and saved);
  ``--steps N`` schedules by step instead and repeats a run exactly on the same CPU and library versions.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

Messages = list[dict[str, str]]
Sense = tuple[list[str], str, list[str]]  # synonyms, definition, example sentences
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "src/maas/shipped/models/maas-tiny-chat"
BOS, END, PAD = "<|bos|>", "<|end|>", "<|pad|>"
ROLES = ("<|system|>", "<|user|>", "<|assistant|>")
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('Only system, user and assistant roles are supported.') }}{% endif %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] | trim + '<|end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)
FORTUNE_FILES = (  # the non-offensive cookie files that are mostly prose quotations, split at run time
    "art computers education food fortunes goedel humorists literature love paradoxum people pets platitudes "
    "science tao wisdom work"
)
PYDOC_PARTS = ("tutorial", "howto", "faq", "reference", "library", "glossary.rst.txt")
QUOTE_ASKS = (
    "Tell me a quote. / Tell me a saying. / Give me a quote. / Say something wise. / Tell me something "
    "interesting. / Give me a fortune cookie. / Share a quotation."
)
TOPIC_ASKS = "Tell me about {}. / What should I know about {} in Python? / Explain {}. / Can you explain {}?"
SYSTEM_PROMPTS = (
    "You are a helpful assistant.",
    "You are a friendly assistant.",
    "You are maas-tiny-chat, a small and helpful model.",
    "Answer briefly.",
    "You are a helpful assistant. Answer the question.",
)
SMALL_TALK = (  # "user variants || assistant variants", each separated by " / "
    "Hello! / Hi! / Hello / Hi there! / Hey! / Good morning! / Good evening! / hello / hi || Hello! I am a "
    "small language model served by MaaS. How can I help you? / Hi! I am a tiny chat model. Ask me what a "
    "word means, or ask me about Python. / Hello! How can I help you today?",
    "Who are you? / What are you? / What is your name? / Introduce yourself. || I am maas-tiny-chat, a very "
    "small language model that ships with MaaS. I can explain what words mean, talk a little about Python "
    "and tell you a quote.",
    "What can you do? / How can you help me? / Help! / What do you know? || I can tell you what a word means,"
    " describe parts of Python from its documentation, and share a quote. I am very small, so please check "
    "what I say.",
    "How are you? / How are you doing? || I am fine, thank you. How can I help you?",
    "Thank you! / Thanks! / Thanks a lot. || You are welcome! / Glad to help!",
    "Bye! / Goodbye! / See you later. || Goodbye! Have a nice day.",
)


def require(path: Path, package: str) -> Path:
    if not path.exists():
        sys.exit(
            f"error: corpus not found at {path}.\n"
            f"Install it with:  sudo apt-get update && sudo apt-get install {package}\n"
            "(or point the matching --*-dir option at a copy of it)."
        )
    return path


def chat(user: str, answer: str) -> Messages:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]


# ---------------------------------------------------------------- WordNet -> definition chats
def wordnet_chats(wn_dir: Path, rng: random.Random) -> list[Messages]:
    samples: list[Messages] = []
    for pos, file_pos in (("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv")):
        synsets: dict[str, Sense] = {}
        for line in require(wn_dir / f"data.{file_pos}", "wordnet").read_text("latin-1").splitlines():
            if line.startswith(" ") or " | " not in line:
                continue
            head, gloss = line.split(" | ", 1)
            fields = head.split()
            words = [
                re.sub(r"\(.*\)$", "", w).replace("_", " ")
                for w in fields[4 : 4 + 2 * int(fields[3], 16) : 2]
            ]
            parts = [p.strip() for p in gloss.strip().split("; ")]
            examples = [p.strip('"') for p in parts if p.startswith('"')]
            definition = "; ".join(p for p in parts if not p.startswith('"')).rstrip(".")
            synsets[fields[0]] = (words, definition, examples)
        for line in require(wn_dir / f"index.{file_pos}", "wordnet").read_text("latin-1").splitlines():
            fields = line.split()
            if line.startswith(" ") or not re.fullmatch(r"[a-z]{2,}", fields[0]):
                continue
            p_cnt = int(fields[3])
            tagged, offsets = int(fields[5 + p_cnt]), fields[6 + p_cnt :]
            if tagged == 0:
                continue
            senses = [synsets[o] for o in offsets[: min(2, tagged)] if o in synsets and synsets[o][1]]
            samples.extend(definition_chats(fields[0], pos, senses, rng))
    return samples


def definition_chats(word: str, pos: str, senses: list[Sense], rng: random.Random) -> list[Messages]:
    if not senses:
        return []
    words, gloss, examples = senses[0]
    meaning = f"to {gloss}" if pos == "v" else gloss
    article = "an" if word[0] in "aeiou" else "a"
    asks = ("What does {} mean?", "What does the word {} mean?", "Define {}.", "What is the meaning of {}?")
    ask = rng.choice(asks).format(word)
    # Answers repeat the word with its leading space (" ocean"), i.e. the very token(s) of the question:
    # copying is much easier to learn than mapping " ocean" to "Ocean".
    answer = f"The word {word} means {meaning}."
    if pos == "v":
        answer = f"To {word} means {meaning}."
    elif pos == "n" and rng.random() < 0.5:
        ask, answer = f"What is {article} {word}?", f"{article.capitalize()} {word} is {gloss}."
    if len(senses) > 1 and rng.random() < 0.5:
        other = f"to {senses[1][1]}" if pos == "v" else senses[1][1]
        answer += f" It can also mean {other}."
    example = next((e for e in examples if word in e.lower().split()), None)
    if example and rng.random() < 0.6:
        answer += f' For example: "{example}".'
    out = [chat(ask, answer)]
    synonyms = [w for w in words if w != word and " " not in w]
    if synonyms:
        ask = rng.choice(("What is another word for {}?", "Give me a synonym for {}.")).format(word)
        out.append(chat(ask, f"Another word for {word} is {synonyms[0]}."))
    if example:
        out.append(chat(f"Use the word {word} in a sentence.", f'Here is an example: "{example}".'))
    return out


# ---------------------------------------------------------- Python docs -> "tell me about" chats
UNDERLINE = re.compile(r"^([=\-~^\"'*+#`])\1{2,}\s*$")


def clean_rst(text: str) -> str:
    def role(match: re.Match[str]) -> str:
        body = re.sub(r"\s*<[^>]*>$", "", match.group(1)).lstrip("!")
        return body[1:].split(".")[-1] if body.startswith("~") else body

    text = re.sub(r":[\w:.-]+:`([^`]*)`", role, text)
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`_{0,2}", r"\1", text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`]+)`_{0,2}", r"\1", text)
    text = re.sub(r"\*\*?([^*\s][^*]*)\*\*?", r"\1", text).replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


def rst_sections(text: str) -> list[tuple[str, list[str]]]:
    sections: list[tuple[str, list[str]]] = []
    lines, i = text.splitlines(), 0
    buf: list[str] = []

    def flush() -> None:
        first = buf[0] if buf else " "
        if sections and not first.startswith((" ", "..", ">>>", "* ", "- ", "#.", "|", "+")):
            para = clean_rst(" ".join(buf)).replace(" ::", "").replace("::", ":")
            letters = sum(c.isalpha() or c == " " for c in para)
            if 80 <= len(para) <= 1500 and not para.endswith(":") and letters > 0.85 * len(para):
                sections[-1][1].append(para)
        buf.clear()

    while i < len(lines):
        line, nxt = lines[i], lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and not line.startswith(" ") and UNDERLINE.match(nxt):
            flush()
            sections.append((clean_rst(line), []))
            i += 2
            continue
        if not line.strip() or UNDERLINE.match(line):
            flush()
        else:
            buf.append(line)
        i += 1
    flush()
    return [(t, p) for t, p in sections if p]


def shorten(text: str, limit: int = 600) -> str:
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)
    out = sentences[0]
    for sentence in sentences[1:]:
        if len(out) + len(sentence) > limit:
            break
        out += " " + sentence
    return out


def topic_of(title: str) -> str | None:
    if " — " in title:
        name = title.split(" — ")[0].strip()
        return f"the {name} module" if re.fullmatch(r"[\w.]+", name) else None
    title = title.rstrip(":?.")
    if not re.fullmatch(r"[A-Za-z][A-Za-z ,'()-]{2,60}", title):
        return None
    return title if title[:2].isupper() else title[0].lower() + title[1:]


def pydoc_chats(doc_dir: Path, rng: random.Random) -> list[Messages]:
    require(doc_dir, "python3.11-doc")
    samples: list[Messages] = []
    files = sorted(
        f
        for part in PYDOC_PARTS
        for f in ([doc_dir / part] if part.endswith(".txt") else (doc_dir / part).rglob("*.rst.txt"))
    )
    for path in files:
        text = path.read_text("utf-8")
        if path.name == "glossary.rst.txt":
            for term, body in re.findall(r"\n   (\S[^\n]*)\n((?:      [^\n]*\n|\n)+)", text):
                para = clean_rst(body.strip().split("\n\n")[0])
                if re.fullmatch(r"[a-z][a-z -]+", term) and len(para) > 40:
                    ask = rng.choice([f"What is {term} in Python?", f"What does {term} mean in Python?"])
                    samples.append(chat(ask, shorten(para)))
            continue
        for title, paras in rst_sections(text):
            topic = topic_of(title)
            if topic is None:
                continue
            asks = [a.format(topic) for a in TOPIC_ASKS.split(" / ")]
            if "python" not in topic.lower() and not topic.startswith("the "):
                asks.append(f"Tell me about Python {topic}.")
            conversation = chat(rng.choice(asks), shorten(paras[0]))
            if len(paras) > 1 and rng.random() < 0.3 and "library" not in path.parts:
                conversation += chat("Tell me more.", shorten(paras[1]))
            samples.append(conversation)
    return samples


# ------------------------------------------------------------------- fortunes -> quote chats
def fortune_chats(fortune_dir: Path, rng: random.Random) -> list[Messages]:
    samples: list[Messages] = []
    asks = QUOTE_ASKS.split(" / ")
    for name in FORTUNE_FILES.split():
        text = require(fortune_dir / name, "fortunes").read_text("utf-8", errors="replace")
        for cookie in text.split("\n%\n"):
            lines = [ln for ln in cookie.strip("\n").split("\n") if ln.strip()]
            author = lines.pop().strip() if lines and lines[-1].strip().startswith("-- ") else ""
            body = " ".join(" ".join(lines).split())
            if not lines or len(lines) > 4 or "\t" in "".join(lines) or not 20 <= len(body) <= 300:
                continue
            if not body.isascii() or re.search(r"[|_<>{}\[\]]|\s{3,}", cookie.replace("\t\t-- ", "")):
                continue
            samples.append(chat(rng.choice(asks), f"{body} {author}".strip()))
    return samples


def small_talk(rng: random.Random, count: int) -> list[Messages]:
    pairs = [[side.split(" / ") for side in line.split(" || ")] for line in SMALL_TALK]
    return [chat(rng.choice(asks), rng.choice(answers)) for asks, answers in rng.choices(pairs, k=count)]


def build_corpus(args: argparse.Namespace, rng: random.Random) -> list[Messages]:
    sources = {
        "wordnet": wordnet_chats(args.wordnet_dir, rng),
        "python-docs": pydoc_chats(args.pydoc_dir, rng),
        "fortunes": fortune_chats(args.fortunes_dir, rng),
        "small-talk": small_talk(rng, 1500),
    }
    for name, items in sources.items():
        print(f"corpus {name}: {len(items)} conversations", flush=True)
    samples = [s for items in sources.values() for s in items]
    rng.shuffle(samples)
    for i, sample in enumerate(samples):  # some system prompts and some two-question conversations
        if rng.random() < 0.1:
            sample += samples[(i + 1) % len(samples)][-2:]
        if rng.random() < 0.3:
            sample.insert(0, {"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    return samples


# --------------------------------------------------------------------- tokenizer and packing
def train_tokenizer(texts: list[str], vocab_size: int, seq_len: int) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    specials = [BOS, END, PAD, *ROLES]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=alphabet, min_frequency=2
    )
    tok.train_from_iterator(texts, trainer=trainer)
    named: dict[str, Any] = dict(
        bos_token=BOS, eos_token=END, pad_token=PAD, additional_special_tokens=list(ROLES)
    )
    named |= dict(clean_up_tokenization_spaces=False, model_max_length=2 * seq_len)
    return PreTrainedTokenizerFast(tokenizer_object=tok, chat_template=CHAT_TEMPLATE, **named)  # type: ignore[no-untyped-call]


def pack(tokenizer: PreTrainedTokenizerFast, texts: list[str], seq_len: int) -> tuple[torch.Tensor, ...]:
    """Concatenate conversations and cut into blocks; labels only on assistant answers + <|end|>."""
    assistant, end = (tokenizer.get_vocab()[t] for t in (ROLES[2], END))
    ids: list[int] = []
    labels: list[int] = []
    for encoding in tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False):
        encoded = encoding.ids
        speaking = False
        for j, t in enumerate(encoded):
            labels.append(t if speaking and encoded[j - 1] != assistant else -100)
            speaking = (speaking or t == assistant) and t != end
        ids.extend(encoded)
    n = len(ids) // seq_len * seq_len
    return torch.tensor(ids[:n]).view(-1, seq_len), torch.tensor(labels[:n]).view(-1, seq_len)


# ----------------------------------------------------------------------------------- training
def lr_at(step: int, progress: float, args: argparse.Namespace) -> float:
    """Linear warm-up over ``--warmup`` steps, then cosine decay to 10% as ``progress`` goes 0 -> 1."""
    warm = min(1.0, (step + 1) / int(args.warmup))
    return float(args.lr) * warm * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))


@torch.no_grad()
def evaluate(model: LlamaForCausalLM, x: torch.Tensor, y: torch.Tensor, batch: int, bf16: bool) -> float:
    model.train(False)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        losses = [
            model(input_ids=x[i : i + batch], labels=y[i : i + batch]).loss.item()
            for i in range(0, len(x), batch)
        ]
    model.train()
    return float(sum(losses) / len(losses))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--minutes", type=float, default=20.0, help="training time budget")
    p.add_argument("--steps", type=int, default=None, help="exact optimiser steps (overrides --minutes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wordnet-dir", type=Path, default=Path("/usr/share/wordnet"))
    p.add_argument("--pydoc-dir", type=Path, default=Path("/usr/share/doc/python3.11/html/_sources"))
    p.add_argument("--fortunes-dir", type=Path, default=Path("/usr/share/games/fortunes"))
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast")
    return p.parse_args()


def new_model(tokenizer: PreTrainedTokenizerFast, args: argparse.Namespace) -> LlamaForCausalLM:
    """Llama with head size 32, SwiGLU width ~8/3 of hidden, tied input/output embeddings."""
    special = {k: getattr(tokenizer, k) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
    h = args.hidden
    shape = dict(hidden_size=h, intermediate_size=h * 8 // 3 // 16 * 16, num_hidden_layers=args.layers)
    heads = dict(num_attention_heads=h // 32, num_key_value_heads=h // 32)
    config = LlamaConfig(
        vocab_size=len(tokenizer), max_position_embeddings=2 * args.seq_len, tie_word_embeddings=True,
        **shape, **heads, **special,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    # Greedy by default; a mild repetition penalty stops the loops that tiny models fall into.
    model.generation_config = GenerationConfig(**special, do_sample=False, repetition_penalty=1.15)  # type: ignore[no-untyped-call]
    model.generation_config.max_new_tokens = 128
    return model


def train(model: LlamaForCausalLM, data: tuple[torch.Tensor, ...], args: argparse.Namespace) -> int:
    """AdamW, warm-up then cosine decay; stops after ``--steps`` or when ``--minutes`` are spent."""
    train_x, train_y, val_x, val_y = data
    decay = [t for t in model.parameters() if t.dim() >= 2]
    no_decay = [t for t in model.parameters() if t.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(len(train_x), generator=gen)
    step, cursor, running, progress, t0 = 0, 0, 0.0, 0.0, time.time()
    while progress < 1.0:
        if cursor + args.batch_size > len(order):
            order, cursor = torch.randperm(len(train_x), generator=gen), 0
        idx = order[cursor : cursor + args.batch_size]
        cursor += args.batch_size
        for group in opt.param_groups:
            group["lr"] = lr_at(step, progress, args)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = model(input_ids=train_x[idx], labels=train_y[idx]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        running = loss.item() if step == 0 else 0.98 * running + 0.02 * loss.item()
        step += 1
        # --steps: schedule by step (repeatable); otherwise by elapsed share of the --minutes budget
        progress = step / args.steps if args.steps else (time.time() - t0) / (60 * args.minutes)
        if step % 200 == 0 or progress >= 1.0:
            val = evaluate(model, val_x, val_y, args.batch_size, args.bf16)
            lr, minutes = lr_at(step, progress, args), (time.time() - t0) / 60
            print(
                f"step {step} lr {lr:.2e} train {running:.3f} val {val:.3f} [{minutes:.1f} min]", flush=True
            )
    return step


def main() -> None:
    args = parse_args()
    started = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    samples = build_corpus(args, rng)
    n_val = max(200, len(samples) // 50)
    # Train the tokenizer on the raw turns (+ template text), then render with the real template.
    turns = [m["content"] for s in samples for m in s] + [CHAT_TEMPLATE]
    tokenizer = train_tokenizer(turns, args.vocab_size, args.seq_len)
    texts = [str(tokenizer.apply_chat_template(s, tokenize=False)) for s in samples]
    val_x, val_y = pack(tokenizer, texts[:n_val], args.seq_len)
    train_x, train_y = pack(tokenizer, texts[n_val:], args.seq_len)
    print(
        f"tokens: train {train_x.numel():,} val {val_x.numel():,} [{time.time() - started:.0f}s]", flush=True
    )
    model = new_model(tokenizer, args)
    n_params = sum(t.numel() for t in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters", flush=True)
    steps = train(model, (train_x, train_y, val_x, val_y), args)
    train_loss = evaluate(model, train_x[: len(val_x)], train_y[: len(val_x)], args.batch_size, False)
    val_loss = evaluate(model, val_x, val_y, args.batch_size, False)  # both in float32

    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out, save_jinja_files=False)  # chat_template in tokenizer_config.json
    minutes = round((time.time() - started) / 60, 1)
    stats = dict(
        parameters=n_params, steps=steps, seed=args.seed, train_tokens=train_x.numel(), minutes=minutes
    )
    stats |= dict(train_loss=round(train_loss, 3), val_loss=round(val_loss, 3), command=" ".join(sys.argv))
    (args.out / "training_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats), flush=True)

    tok = AutoTokenizer.from_pretrained(args.out)  # reload: what ships is what answers
    reloaded = AutoModelForCausalLM.from_pretrained(args.out)
    for prompt in ("Hello!", "What does ocean mean?", "Tell me about Python lists.", "Tell me a quote."):
        chat_ = [{"role": "user", "content": prompt}]
        ids: Any = tok.apply_chat_template(
            chat_, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        out = reloaded.generate(**ids, max_new_tokens=60)
        print(f"> {prompt}\n{tok.decode(out[0, ids['input_ids'].shape[1] :], skip_special_tokens=True)}")


if __name__ == "__main__":
    main()
