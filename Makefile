# The commands a newcomer needs. Each installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20

.PHONY: run serve test unit faults lint bench journeys schemas openapi synth deploy clean

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing threadline[$*] into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e ".[$*]"
	@rm -f $(VENV)/.installed-* && touch $@

## run: start the local stack on 127.0.0.1:$(PORT) and replay a demo journey against it
run: $(VENV)/.installed-local
	$(BIN)/threadline serve --port $(PORT) --demo

## serve: start the local stack only
serve: $(VENV)/.installed-local
	$(BIN)/threadline serve --port $(PORT)

## test: lint, type-check and run every test suite
test: $(VENV)/.installed-dev lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

## unit: the fast suite only (pure code and in-memory fakes, no AWS, no sockets); seconds, not minutes
unit: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 tests/unit

## faults: inject every fault at every DynamoDB call of the scripted workload and print the tally (minutes)
faults: $(VENV)/.installed-dev
	$(BIN)/python -m tests.faults

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: print round trips, per-contact time at 1,000 and 20,000 contacts, import times
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

## journeys: replay the labeled journey suite against a running local stack (start it with make serve)
journeys: $(VENV)/.installed-local
	$(BIN)/threadline journeys --url http://127.0.0.1:$(PORT)

## schemas: regenerate the committed JSON Schemas of the events (docs/schemas) after a model change
schemas: $(VENV)/.installed-dev
	$(BIN)/python -m shared.events.schemas

## openapi: regenerate the committed OpenAPI document of /v1 (docs/openapi.json) after a route or model change
openapi: $(VENV)/.installed-dev
	$(BIN)/python -c "from functions.api.handler import openapi_json; from shared.api.openapi import write_committed; print(write_committed(openapi_json()))"

## synth: synthesize the CDK app into cdk.out (no AWS account needed)
synth: $(VENV)/.installed-dev
	npx --yes aws-cdk@2 synth --quiet

## deploy: deploy the stack to the AWS account of your current credentials
deploy: $(VENV)/.installed-dev
	npx --yes aws-cdk@2 deploy --require-approval broadening

clean:
	rm -rf $(VENV) cdk.out .build .mypy_cache .ruff_cache .pytest_cache
