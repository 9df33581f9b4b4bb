"""Prompt text the model sees, formatted exactly as VSI-Bench's lmms-eval task does
(`vsibench_doc_to_text`): pre-prompt line, question, for multiple choice an "Options:" block with
one "A. ..." line per option, then the post-prompt.

    mc:  "These are frames of a video.\\n{question}\\nOptions:\\nA. ...\\nB. ...\\n{MC_POST_PROMPT}"
    oe:  "These are frames of a video.\\n{question}\\n{OE_POST_PROMPT}"

lmms-eval's yaml sets `pre_prompt: ""`, but its code reads `kwargs.get("pre_prompt", "") or "These are
frames of a video."`, so the benchmark's real prompts always carry that line; it is our default too.
Pass `pre_prompt=None` (or "") to leave it out.
"""

from __future__ import annotations

from typing import Optional

from .base import MC_POST_PROMPT, OE_POST_PROMPT
from .record import QA

DEFAULT_PRE_PROMPT = "These are frames of a video."


def format_prompt(qa: QA, pre_prompt: Optional[str] = DEFAULT_PRE_PROMPT) -> str:
    lines = [pre_prompt] if pre_prompt else []
    lines.append(qa.question)
    if qa.answer_mode == "mc":
        if not qa.options:
            raise ValueError(f"{qa.question_type}: multiple-choice QA without options")
        lines.append("Options:\n" + "\n".join(qa.options))
        lines.append(MC_POST_PROMPT)
    else:
        lines.append(OE_POST_PROMPT)
    return "\n".join(lines)


__all__ = ["DEFAULT_PRE_PROMPT", "MC_POST_PROMPT", "OE_POST_PROMPT", "format_prompt"]
