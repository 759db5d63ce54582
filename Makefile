# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_MODEL := models/spacy-nl
MODEL := models/assistant.tar.gz
TRAINING_INPUTS := config.yml $(wildcard domain/*.yml) $(shell find data -name '*.yml' 2>/dev/null)
SRC := assistant actions channels rasa_sdk_plugins scripts tests

.PHONY: help run train test eval bench profile lint format validate lock system-deps clean voice-test

help:
	@echo "make run     start the whole assistant on this machine (chat page address is printed);"
	@echo "             make run PROFILE=production: every core, on the local PostgreSQL and Redis"
	@echo "make test    run every test"
	@echo "make train   train the model (only when data or config changed)"
	@echo "make eval    NLU figures on the held-out test set"
	@echo "make bench   speed as a ratio to a bare rasa init bot run alongside: closed and open loop, JSON in results/ (PROFILE=embedded|production)"
	@echo "make profile where a turn's CPU time goes: one Rasa worker under load, sampled by py-spy"
	@echo "make lint    ruff check and ruff format --check"
	@echo "make voice-test  slow, optional: the phone channel with real audio (espeak-ng, Whisper)"

# --- environment -----------------------------------------------------------------------------
$(VENV)/.installed: requirements.txt
	@test -d $(VENV) || $$(scripts/find-python310) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip==24.0
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# A blank Dutch spaCy pipeline with the lookup lemmatiser from spacy-lookups-data: Dutch
# tokenisation and lemmas without downloading a model.
# The environment is an order-only prerequisite of the pipeline and the model: adding a test
# dependency must not retrain (Rasa itself refuses a model from an incompatible version).
$(SPACY_MODEL)/meta.json: scripts/build_spacy_nl.py | $(VENV)/.installed
	$(PY) scripts/build_spacy_nl.py $(SPACY_MODEL)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# Browser tests use Debian's Chromium, the proxy tests Debian's nginx (`nginx -t` and a real
# nginx in front of stand-ins); installed here so a fresh machine needs no manual step.
system-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "Installing chromium and chromium-driver (Debian packages) for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }
	@command -v nginx >/dev/null || PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null || { \
	  echo "Installing nginx-light (Debian package) for the proxy tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; }

# --- model -----------------------------------------------------------------------------------
$(MODEL): $(SPACY_MODEL)/meta.json $(TRAINING_INPUTS) | $(VENV)/.installed
	$(RASA) train --domain domain --fixed-model-name assistant --out models --num-threads 2

train: $(MODEL)

# --- the two commands ------------------------------------------------------------------------
# PROFILE=embedded (default: nothing external) or production (Rasa and action server workers on
# the local PostgreSQL and Redis); scripts/run.py reads it from the environment.
PROFILE ?= embedded
run: $(MODEL)
	PROFILE=$(PROFILE) $(PY) scripts/run.py

test: $(MODEL) node_modules/.installed system-deps
	$(RASA) data validate --domain domain --fail-on-warnings
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/stories
	$(PY) -m pytest

# --- the phone channel with real audio (optional, slow) -----------------------------------------
# espeak-ng speaks Dutch requests, Whisper base (its own environment .venv-voice, every package
# hash-pinned in requirements-voice.txt) turns them into SpeechResult and Confidence, and the
# signed TwiML webhook of the running assistant answers. Not part of `make test`.
voice-test: $(MODEL) | $(VENV)/.installed
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null || { \
	  echo "Installing espeak-ng and sox (Debian packages) for the audio round trip"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox; }
	@if [ ! .venv-voice/.installed -nt requirements-voice.txt ]; then \
	  set -e; echo "Creating .venv-voice from requirements-voice.txt"; \
	  test -d .venv-voice || $$(scripts/find-python310) -m venv .venv-voice; \
	  .venv-voice/bin/pip install --quiet --disable-pip-version-check --require-hashes \
	    -r requirements-voice.txt; \
	  touch .venv-voice/.installed; \
	fi
	$(PY) -m pytest -m slow tests/channels/test_voice_audio.py

# --- figures and hygiene ---------------------------------------------------------------------
eval: $(MODEL)
	$(PY) scripts/eval_nlu.py

# Starts a bare `rasa init` bot (trained once into var/bench/) and the assistant in the chosen
# profile, and loads both; BENCH_ARGS passes more options (see scripts/bench.py --help).
bench: $(MODEL)
	$(PY) scripts/bench.py --profile $(or $(PROFILE),embedded) $(BENCH_ARGS)

# Needs permission to attach to a process (ptrace), as a developer's own machine gives.
profile: $(MODEL)
	$(PY) scripts/profile_turn.py $(PROFILE_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(SRC)
	$(VENV)/bin/ruff format --check $(SRC)

format: $(VENV)/.installed
	$(VENV)/bin/ruff format $(SRC)
	$(VENV)/bin/ruff check --fix $(SRC)

# Re-pin every dependency after changing requirements.in.
lock:
	rm -rf .venv-lock && $$(scripts/find-python310) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip==24.0
	.venv-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Generated by 'make lock' from requirements.in with Python 3.10: every package pinned."; \
	  .venv-lock/bin/pip freeze; } > requirements.txt
	rm -rf .venv-lock

clean:
	rm -rf models .rasa var results
