# Two commands for a new user: `make run` and `make test`. Both create .venv on first use and reuse it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# torch is installed first and pinned, so nothing later resolves another build; the package index this project
# installs from serves the CPU wheel (elsewhere, add --index-url https://download.pytorch.org/whl/cpu to TORCH).
TORCH := torch==2.13.0

INDEX ?= index

.PHONY: run test test-fast install browser index bench bench-scale load eval eval-full eval-ncp train clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Builds the index on the first run; later runs update it (only changed files are embedded; an index built
# by another version of the vocabulary, pipeline or encoder is rebuilt), then serve.
run: install
	$(PY) -m rag index --index $(INDEX)
	$(PY) app.py

index: install
	$(PY) -m rag index --index $(INDEX)

bench: install
	$(PY) eval/bench.py

# Retrieval at 10^4..10^6 clauses (real clauses replicated and perturbed): memory, build time, p95, recall@10.
bench-scale: install
	$(PY) eval/scale.py

# N = 1, 8, 32 concurrent gradio_client users against a freshly started app on loopback (a few minutes).
load: install
	@test -f $(INDEX)/manifest.json || $(PY) -m rag index --index $(INDEX)
	$(PY) eval/loadtest.py

# Builds (or updates) index/ and index-noheader/ as needed, then writes eval/reports/<timestamp>/. The dev set
# by default (what tuning may look at); the test set is reported on once: make eval QUESTIONS=eval/questions.jsonl
QUESTIONS ?= eval/dev_questions.jsonl
eval: install
	$(PY) -m rag eval --questions $(QUESTIONS) --index $(INDEX)

# The same with the 93 documents of ../shared/corpus-extra indexed as distractors (first run: ~10 min).
eval-full: install
	$(PY) -m rag eval --questions $(QUESTIONS) --corpus corpus --corpus ../shared/corpus-extra --index index-full \
		--out eval/reports/$$(date +%Y%m%d-%H%M%S)-with-distractors

# The query adapter (rag/data/query_adapter.*), the answer scorer's weights (rag/data/answer_model.json), then the
# reader's (rag/data/reader.*), from the dev sets, seeded; builds index/ and index-ncp/ first. Writes
# eval/reports/answer-model/ (trade-off plot, figures, feature table, the reader's comparison of designs and its
# held-out dev questions). ~30 minutes on 2 cores.
train: install
	$(PY) -m rag train

# The real public policy Q&A set (../shared/ncp): 599 documents, gold answer spans. Dev only: the test set
# is reported on once (make eval-ncp NCP_SET=test).
NCP_SET ?= dev
eval-ncp: install
	$(PY) -m rag eval --questions ../shared/ncp/$(NCP_SET).jsonl --corpus ../shared/ncp/corpus --index index-ncp \
		--no-ablation --modes hybrid --out eval/reports/$$(date +%Y%m%d-%H%M%S)-ncp-$(NCP_SET)

# The browser test drives Debian's Chromium (Playwright's own browser download cannot work here) and needs
# CJK fonts for readable screenshots. Installed when missing and we are root; otherwise the test says it is
# skipped and why. Its accessibility check loads axe-core (the npm package, pinned) into the pages: installed
# into .axe/ (git-ignored) with npm, itself installed from Debian when missing and we are root.
AXE_VERSION := 4.14.1
AXE_PACKAGE := .axe/node_modules/axe-core/package.json
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . || \
	{ [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  chromium fonts-noto-cjk) >/dev/null 2>&1; } || echo "chromium could not be installed: the browser test will be skipped"
	@grep -qs '"version": "$(AXE_VERSION)"' $(AXE_PACKAGE) || \
	{ command -v npm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null 2>&1; }; \
	  npm install --prefix .axe --no-audit --no-fund --silent axe-core@$(AXE_VERSION) >/dev/null 2>&1; } || \
	echo "axe-core could not be installed: the browser test's accessibility check will be skipped"

# Lint first (ruff: pycodestyle, pyflakes, import order; line length 120), then every test.
test: install browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

# The tests that need no embedding model and no index (tests/conftest.py marks the others), in under a minute.
test-fast: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -m "not model"

clean:
	rm -rf $(VENV) .axe index index-noheader index-full index-full-noheader .pytest_cache .index*.lock
