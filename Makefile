# The README's two commands: `make book` and `make test`. Each sets everything up itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(CURDIR)/$(VENV)/bin/python
STAMP   := $(VENV)/.setup-stamp
MATHJAX := _static/mathjax/tex-svg.js
MATHJAX_VERSION := 3.2.2
KERNEL  := learnet-lite
PROFILE ?= book
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONHASHSEED := 0

# 04_training runs once per dataset of the profile (its `datasets:` line) into book/04_training_<dataset>.ipynb
TWINS     := $(shell sed -n 's/^datasets: *\[\([^]]*\)\].*/\1/p' notebooks/params/$(PROFILE).yaml | tr -d ',')
PER_TWIN  := notebooks/04_training.ipynb
TRAINING  := $(foreach d,$(TWINS),book/04_training_$(d).ipynb)
NOTEBOOKS := $(filter-out $(PER_TWIN),$(sort $(wildcard notebooks/[0-9]*.ipynb)))
EXECUTED  := $(patsubst notebooks/%,book/%,$(NOTEBOOKS)) $(TRAINING)
PACKAGE   := $(wildcard learnet_lite/*.py)

.PHONY: help setup book notebooks html pdf reproduce student test lint test-unit test-notebooks test-book lab bench clean browser

help:
	@echo "make book   set up .venv, execute every notebook (profile=$(PROFILE)) and build the book into _build/html"
	@echo "make test   set up .venv and run all tests (unit, notebook smoke runs, book build + browser)"
	@echo "make pdf    the book as one PDF (_build/pdf/learnet-reproduced.pdf), printed offline by Chromium"
	@echo "make student  write the student edition (notebooks and book without solutions) to student/"
	@echo "make lab    open JupyterLab on notebooks/ with the project's kernel"
	@echo "make bench  run the benchmarks in benchmarks/"
	@echo "make reproduce PROFILE=paper ARGS='--device cuda'   train the grid of a profile (skips recorded runs), print the tables"
	@echo "make setup  only create/refresh .venv (idempotent)"

## setup: .venv with the pinned dependencies, the project's kernel and vendored MathJax.
setup: $(STAMP) $(MATHJAX)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[book,dev,grid]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (learnet-lite)" >/dev/null
	@touch $@

# MathJax is vendored from the npm registry at setup so that the built book loads nothing
# from a CDN (Sphinx's default) and renders offline.
$(MATHJAX):
	@mkdir -p $(@D)
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null \
	  && tar xzf mathjax-$(MATHJAX_VERSION).tgz package/es5/tex-svg.js \
	  && mv package/es5/tex-svg.js $(CURDIR)/$@.tmp && mv $(CURDIR)/$@.tmp $(CURDIR)/$@ && rm -rf $$tmp
	@echo "vendored MathJax $(MATHJAX_VERSION) -> $@"

## book: notebooks executed by papermill (profile $(PROFILE)) into book/, then Jupyter Book v1.
book: setup notebooks html
	@echo "The book is at $(CURDIR)/_build/html/index.html"

notebooks: $(EXECUTED)

# Written to a temporary file, moved into place only when every cell succeeded.
book/%.ipynb: notebooks/%.ipynb notebooks/params/$(PROFILE).yaml $(PACKAGE) | setup
	@mkdir -p _build/.papermill
	papermill --kernel $(KERNEL) --cwd notebooks -p profile $(PROFILE) --progress-bar \
	  $< _build/.papermill/$*.ipynb
	@mv _build/.papermill/$*.ipynb $@

book/04_training_%.ipynb: $(PER_TWIN) notebooks/params/$(PROFILE).yaml $(PACKAGE) | setup
	@mkdir -p _build/.papermill
	papermill --kernel $(KERNEL) --cwd notebooks -p profile $(PROFILE) -p dataset $* --progress-bar \
	  $< _build/.papermill/04_training_$*.ipynb
	@mv _build/.papermill/04_training_$*.ipynb $@

# The results chapter tabulates the records the training, protocol and baselines chapters wrote.
book/05_results.ipynb: $(TRAINING) $(filter book/06_% book/07_%,$(EXECUTED))

html: | setup
	jupyter-book build . --warningiserror --nitpick --keep-going --quiet

## pdf: the whole book as one PDF for offline reading: every page printed by Chromium, merged.
pdf: book browser
	$(PY) scripts/book_pdf.py _build/html _build/pdf/learnet-reproduced.pdf

## reproduce: the training grid of a profile (learnet-lite reproduce), records under data/results/$(PROFILE)/.
reproduce: setup
	$(PY) -m learnet_lite.cli reproduce --profile $(PROFILE) $(ARGS)

## student: the notebooks and the book without the exercises' solutions, into student/
## (from the executed notebooks of `make notebooks`; see book/teaching.md).
student: setup notebooks
	$(PY) -m learnet_lite.cli student --profile $(PROFILE)

## test: unit tests, papermill smoke runs with glued values asserted, book build + browser.
# ruff first (seconds; its rules and why: pyproject.toml [tool.ruff]), then every test
test: setup browser lint
	$(PY) -m pytest

lint: | setup
	$(PY) -m ruff check .

test-unit: setup
	$(PY) -m pytest -m "not notebook and not book"

# A real browser for the book tests (Debian's chromium), installed when missing.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# As root (the usual case in a container) JupyterLab refuses to start without --allow-root;
# headless (no DISPLAY) it opens no browser and prints the URL to open. LAB_ARGS: more options.
LAB_ARGS ?=
lab: setup
	jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root) \
	  $$([ -z "$$DISPLAY$$WAYLAND_DISPLAY" ] && echo --no-browser) $(LAB_ARGS)

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf _build book/*.ipynb
