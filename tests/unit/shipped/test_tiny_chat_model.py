"""The shipped ``maas-tiny-chat`` model loads through plain transformers and answers in English.

``maas serve`` relies on this folder when nothing has been downloaded, so it must stay small, load
through ``AutoTokenizer`` / ``AutoModelForCausalLM.from_pretrained`` on CPU, render chats with its
template and stop at the end-of-turn token. "Answers in English" is checked loosely but
meaningfully: most alphabetic words of each greedy answer must be common English words (the list
below, chosen independently of the training data) or words of the question.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch  # core dependencies of maas: never skipped
import transformers

import maas

MODEL_DIR = Path(maas.__file__).parent / "shipped" / "models" / "maas-tiny-chat"
REQUIRED_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json")
PROMPTS = ("Hello!", "What does ocean mean?", "Tell me about Python lists.")
MIN_ENGLISH_SHARE = 0.6

# ~770 everyday English words, written independently of the model's training data.
_WORD_LIST = """
    a able about above act action add after again against age ago air all allow almost alone along already
    also always am among amount an and animal another answer any anything appear area arm around art as ask
    at away back bad ball bank base be bear beat beautiful because become bed been before begin behind being
    believe below best better between big bird black blood blue board boat body book both bottom box boy
    break bring brother brown build building built burn business but buy by call came can car care carry
    case cat cause center certain chair chance change character child children city class clear close cold
    color come common company complete condition contain control cook cool copy corner correct cost could
    count country course cover create cross cry current cut dark data day dead deal dear death decide deep
    define degree describe design determine develop did die differ different direct do does dog done door
    down draw dream dress drink drive drop dry during each early earth ease east eat edge effect egg eight
    either electric element else end enemy energy enough enter equal even evening event ever every example
    except expect experience explain eye face fact fall family far farm fast father fear feel feet few field
    fight figure fill final find fine fire first fish five floor flow flower fly follow food foot for force
    form forward found four free friend from front full function game garden gas gave general get girl give
    glass go god gold good got govern great green ground group grow guess had hair half hand happen happy
    hard has have he head hear heart heat heavy held hello help her here high hill him his history hold hole
    home hope horse hot hour house how human hundred hunt i idea if image important in inch include
    indicate industry information inside instead interest into iron is island it item its job join just
    keep key kind king know land language large last late laugh law lay lead learn least leave left leg
    length less let letter level lie life lift light like line list little live long look lose lot love low
    machine made main make man many map mark market mass matter may me mean measure meet member men method
    middle might mile milk mind minute miss model modern moment money month moon more morning most mother
    mountain move much music must my name nation natural nature near necessary need never new next night
    no noise none nor north not note nothing notice now number object observe occur of off offer office
    often oh oil old on once one only open operation or order other our out over own page paper part
    particular party pass past path pay people per perhaps period person pick picture piece place plain
    plan plant play please point position possible power practice prepare present press pretty print
    probable problem process produce product program property provide public pull purpose push put
    quality question quick quiet quite rain raise ran range rather reach read ready real reason receive
    record red region remember repeat reply report rest result return rich ride right ring rise river road
    rock roll room root rose round row rule run safe said sail same sand save saw say school science sea
    season seat second section see seem self sell send sense sentence separate serve set seven several
    shall shape share sharp she ship short should show side sign simple since sing single sister sit six
    size skill skin sky sleep slow small smile snow so soft soil some something sometimes son song soon
    sound south space speak special speed spell spend spring square stand star start state station stay
    step still stone stop store story straight strange stream street strong structure student study
    subject substance such sudden suggest summer sun supply support sure surface system table take talk
    tall teach tell ten term test than thank that the their them then there these they thing think third
    this those though thought thousand three through throw thus time tiny to today together told tone too
    took tool top total touch toward town track trade travel tree true try turn two type under unit until
    up upon us use usual valley value various very view visit voice wait walk wall want war warm was wash
    watch water wave way we wear weather week weight well went were west what wheel when where whether
    which while white who whole why wide wife wild will win wind window winter wish with within without
    woman wonder wood word work world would write wrong yard year yes yet you young your
"""
COMMON_WORDS = frozenset(_WORD_LIST.split())


def _is_english(word: str, question: str) -> bool:
    stems = {word, re.sub(r"(ing|ed|es|s|ly|er|est)$", "", word), re.sub(r"(ies|ied)$", "y", word)}
    return any(stem in COMMON_WORDS or stem in question for stem in stems)


def english_share(text: str, question: str) -> float:
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 2]
    if not words:
        return 0.0
    return sum(_is_english(w, question.lower()) for w in words) / len(words)


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return transformers.AutoTokenizer.from_pretrained(MODEL_DIR)


@pytest.fixture(scope="module")
def model() -> Any:
    return transformers.AutoModelForCausalLM.from_pretrained(MODEL_DIR, dtype=torch.float32).eval()


def test_the_folder_is_complete_and_at_most_30_mb() -> None:
    assert all((MODEL_DIR / name).is_file() for name in REQUIRED_FILES)
    total = sum(f.stat().st_size for f in MODEL_DIR.rglob("*") if f.is_file())
    assert total <= 30 * 1024 * 1024, f"{total / 1e6:.1f} MB"


def test_it_is_a_llama_whose_eos_is_the_end_of_turn_token(tokenizer: Any, model: Any) -> None:
    assert model.config.model_type == "llama"
    assert tokenizer.eos_token == "<|end|>"
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id


def test_the_chat_template_renders_system_user_and_the_generation_prompt(tokenizer: Any) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == "<|bos|><|system|>\nBe brief.<|end|>\n<|user|>\nHello!<|end|>\n<|assistant|>\n"
    without = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    assert not without.endswith("<|assistant|>\n")


def test_greedy_answers_are_mostly_english_and_stop_at_the_end_of_turn(tokenizer: Any, model: Any) -> None:
    torch.manual_seed(0)
    stopped = []
    for prompt in PROMPTS:
        inputs = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}],
            add_generation_prompt=True,
            return_tensors="pt",
            return_dict=True,
        )
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=40, do_sample=False)
        new = out[0, inputs["input_ids"].shape[1] :]
        stopped.append(tokenizer.eos_token_id in new.tolist())
        answer = tokenizer.decode(new, skip_special_tokens=True)
        assert english_share(answer, prompt) >= MIN_ENGLISH_SHARE, (prompt, answer)
    assert any(stopped), "no answer ended with <|end|>"
