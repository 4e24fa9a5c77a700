"""Count the tokens of texts with the tokenizer Anthropic published in its Python SDK (0.34.2), in the
virtualenv of pyproject's `token-count` extra (tests/mcp_sdk.py makes it):

	.venv/bin/python benchmarks/count_tokens.py < texts.json > counts.json

Input: a JSON list of strings; output: a JSON list of their token counts. The tokenizer is the one
that SDK shipped for Anthropic's earlier models; current models tokenize differently, so the counts
are estimates of the same order, not a bill.
"""

import json
import sys

from anthropic._tokenizers import sync_get_tokenizer

if __name__ == "__main__":
	tokenizer = sync_get_tokenizer()
	texts = json.load(sys.stdin)
	json.dump([len(tokenizer.encode(text).ids) for text in texts], sys.stdout)
