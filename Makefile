# Set-up and checks. `make demo` runs the main job end to end; `make test` runs lint, types and tests.
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
export UV_COMPILE_BYTECODE := 1

.PHONY: install demo test test-faults lint serve stack env bench bench-smoke bench-scale lock clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(UV) pip install --python $(PY) -q -r requirements.lock
	$(UV) pip install --python $(PY) -q --no-deps -e .
	touch $@

demo: install
	$(PY) -m aml_provider.demo

# Tests in $(PYTEST_WORKERS) worker processes, one test module per worker at a time (0: in this process).
PYTEST_WORKERS ?= 2
test: install lint
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile

# The whole fault matrix (the default suite runs only its fast subset), the races, and the service's own
# fault and crash tests.
test-faults: install
	$(VENV)/bin/pytest -m "not deploy" tests/airflow/test_fault_matrix.py tests/airflow/test_family_races.py \
		tests/airflow/test_family_serving.py tests/airflow/test_family_faults.py \
		tests/local/test_faults.py tests/local/test_crash.py tests/local/test_service_process.py

lint: install
	$(VENV)/bin/ruff check aml_provider dags tests
	$(VENV)/bin/ruff format --check aml_provider dags tests
	$(VENV)/bin/mypy

serve: install
	$(VENV)/bin/aml-local serve --data-dir .aml-local --local-s3 5000

# The docker-compose topology as native processes on this machine's PostgreSQL and Redis; Ctrl-C stops it.
stack: install
	$(PY) -m tests.deploy.stack

# .env for docker compose, from .env.example with every empty secret filled at random (kept if present).
env: .env
.env:
	@python3 -c "import base64, os, re, secrets; \
	fill = lambda m: m[1] + '=' + (base64.urlsafe_b64encode(os.urandom(32)).decode() if m[1] == 'AIRFLOW_FERNET_KEY' else secrets.token_hex(20)); \
	open('.env', 'w').write(re.sub(r'^([A-Z][A-Z0-9_]*)=$$', fill, open('.env.example').read(), flags=re.M))"

# The benchmarks of make bench and make bench-smoke (bench_scale, where present, is run on demand only).
BENCHES = $(filter-out tests/benchmarks/bench_scale.py,$(wildcard tests/benchmarks/bench_*.py))

# Every benchmark; exits non-zero if any missed a target (or crashed), after running them all.
bench: install
	status=0; for bench in $(BENCHES); do \
	    $(PY) -m tests.benchmarks.$$(basename $$bench .py) || { echo "FAILED: $$bench"; status=1; }; \
	done; exit $$status

# Every benchmark at tiny sizes, targets not enforced: the code paths run, a crash fails (CI runs it).
bench-smoke: install
	for bench in $(BENCHES); do \
	    AML_BENCH_SMOKE=1 $(PY) -m tests.benchmarks.$$(basename $$bench .py) || { echo "FAILED: $$bench"; exit 1; }; \
	done

# 1, 3 and 10 million rows through datasource, training, evaluation and batch prediction (about 20 minutes).
bench-scale: install
	$(PY) -m tests.benchmarks.bench_scale

lock:
	$(UV) pip compile pyproject.toml --all-extras -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) .aml-local .airflow
