"""An example executor: a (deliberately naive) extractive summary, served as the model acme/py-summarize.

    python3 -m verity_worker --server URL --key KEY --module python/examples/summarize.py

A step runs it with `model_requirements: { name: acme/py-summarize }` and an input `{ text, sentences? }`.
"""

import re

from verity_worker import ExecutorError, executor


@executor(name='acme/py-summarize', version='1', step_types=['inference'])
def summarize(input, ctx):
    text = input.get('text') if isinstance(input, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ExecutorError('invalid_input', 'the input needs a non-empty "text"', retryable=False)
    sentences = [s.strip() for s in re.split(r'(?<=[.!?])\s+', text) if s.strip()]
    words = [w.lower() for w in re.findall(r'\w+', text)]
    frequency = {}
    for word in words:
        frequency[word] = frequency.get(word, 0) + 1
    scored = sorted(
        range(len(sentences)),
        key=lambda i: -sum(frequency.get(w.lower(), 0) for w in re.findall(r'\w+', sentences[i])),
    )
    keep = sorted(scored[: int(input.get('sentences', 2))])
    # One micro-unit per word read: what the attestation states and the ledger pays.
    ctx.report_cost(len(words), usage={'input_words': len(words), 'sentences': len(keep)})
    return {'summary': ' '.join(sentences[i] for i in keep), 'sentences': len(keep)}
