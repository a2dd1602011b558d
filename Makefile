# Two entry points for a fresh clone: `make run` serves, `make test` checks everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RAY_STAMP := $(VENV)/.installed-ray
# Defined before any rule names it: make expands a rule's prerequisites as it reads the rule.
BROWSER_STAMP := $(VENV)/.browser-tests

.PHONY: run test quick lint typecheck bench-api bench-scale-out clean oci-runtime vm-network-packages distributed screenshots bench-console postgresql-server sdk-venvs

# PyTorch for multi-instance training (the `distributed` extra): the CPU build, from PyTorch's CPU index
# beside the usual one (PyPI's Linux wheel of the same version pulls gigabytes of CUDA). Once, stamped;
# a failure fails `make test`. Single-instance jobs never import it.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
DISTRIBUTED_STAMP := $(VENV)/.distributed-installed

# What the OCI executor's job networks need from Debian: the CNI plugins (bridge, host-local, loopback),
# nftables for the rules that fence each job, iproute2 for network namespaces. Installed only when run as
# root on a machine with apt, and only when something is missing; elsewhere the process executor serves.
VM_NETWORK_PACKAGES := containernetworking-plugins nftables iproute2 util-linux

# What the OCI executor needs (runc, tini as the VMs' init, mkfs.ext4 and losetup for their volumes):
# installed from Debian's packages when run as root, once. Elsewhere the process executor takes over,
# except under CI=true, where a missing piece fails the build.
OCI_TOOLS := runc tini mkfs.ext4 losetup
oci-runtime:
	@missing=""; for tool in $(OCI_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq runc tini e2fsprogs mount; \
	elif [ -n "$$missing" ] && [ "$$CI" = true ]; then \
		echo "CI needs the OCI executor: missing$$missing (run as root on Debian)" >&2; exit 1; \
	elif [ -n "$$missing" ]; then \
		echo "missing$$missing: VMs will run as plain processes (SAGELITE_ISOLATION=process)"; \
	fi

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,postgresql]'
	touch $(STAMP)

$(DISTRIBUTED_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --retries 1 -c constraints.txt --extra-index-url $(TORCH_CPU_INDEX) -e '.[distributed]'
	touch $(DISTRIBUTED_STAMP)

distributed: $(DISTRIBUTED_STAMP)

# The Ray executor's optional extra (Ray and Ray Client), installed once into the same environment.
$(RAY_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,ray]'
	touch $(RAY_STAMP)

run: $(STAMP) oci-runtime vm-network-packages
	$(BIN)/sagelite serve

lint: $(STAMP)
	$(BIN)/ruff check app tests bench migrations examples
	$(BIN)/ruff format --check app tests bench migrations examples

# mypy sees the environment `make test` runs in (the Ray extra's modules are imported by app/runtime/ray).
typecheck: $(STAMP) $(RAY_STAMP)
	$(BIN)/mypy

test: lint typecheck oci-runtime vm-network-packages postgresql-server distributed sdk-venvs $(BROWSER_STAMP) $(RAY_STAMP)
	$(BIN)/pytest

# The SageMaker Python SDK cannot share our environment (its pins differ), and its v2 and v3 lines cannot
# share one either: the e2e tests (tests/e2e/test_sagemaker_sdk.py) run SDK code in a venv of its own as
# scripts against a server the suite starts. Made once (its stamp), with the SDK's own requirements only.
# v3 installs from a pinned set (tests/e2e/sdk3-constraints.txt says why: unpinned, pip backtracks
# through boto3 x aiobotocore x s3fs releases for tens of minutes); with it, a minute or two.
SDK2 := sagemaker==2.257.7
SDK3 := sagemaker==3.27.0
SDK3_CONSTRAINTS := tests/e2e/sdk3-constraints.txt
sdk-venvs: .venv-sdk2/.installed .venv-sdk3/.installed

.venv-sdk2/.installed:
	rm -rf .venv-sdk2 && $(PYTHON) -m venv .venv-sdk2
	.venv-sdk2/bin/pip install --quiet '$(SDK2)'
	touch $@

.venv-sdk3/.installed: $(SDK3_CONSTRAINTS)
	rm -rf .venv-sdk3 && $(PYTHON) -m venv .venv-sdk3
	.venv-sdk3/bin/pip install --quiet -c $(SDK3_CONSTRAINTS) '$(SDK3)'
	touch $@

# The inner loop: unit, API and integration tests (no server processes), about a minute.
quick: $(STAMP)
	$(BIN)/pytest tests/unit tests/api tests/integration tests/test_architecture.py

vm-network-packages:
	@if [ -x /usr/lib/cni/bridge ] && command -v nft >/dev/null && command -v ip >/dev/null \
	    && command -v nsenter >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(VM_NETWORK_PACKAGES); \
	elif [ "$$CI" = true ]; then \
	  echo "CI needs job networks: $(VM_NETWORK_PACKAGES) (run as root on Debian)" >&2; exit 1; \
	else \
	  echo "no CNI plugins or nftables: OCI VMs will have loopback only"; \
	fi

# The web console's browser tests: Playwright (the `browser-tests` extra) driving Debian's chromium, never a
# downloaded browser. Installed once (stamp); under CI=true a chromium that cannot be installed fails here.
$(BROWSER_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,browser-tests]'
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@if ! command -v chromium >/dev/null; then \
		if [ "$$CI" = true ]; then echo "CI needs chromium for the console's browser tests" >&2; exit 1; fi; \
		echo "no chromium: the console's browser tests will be skipped"; \
	else touch $(BROWSER_STAMP); fi

# Screenshots of the console's main pages into docs/, driven by the browser tests' own code.
screenshots: $(BROWSER_STAMP)
	$(BIN)/python -m tests.support.console_screenshots docs

bench-console: $(BROWSER_STAMP)
	$(BIN)/python bench/console.py

# The integration and e2e tests also run on PostgreSQL: without SAGELITE_TEST_DATABASE_URL they start
# Debian's `postgresql` (initdb + pg_ctl on a free port) themselves. Installed when root, once; under
# CI=true a missing server fails the build. No cluster of Debian's own is created: none listens on 5432.
postgresql-server:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "$$SAGELITE_TEST_DATABASE_URL" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    mkdir -p /etc/postgresql-common; \
	    [ -e /etc/postgresql-common/createcluster.conf ] || echo 'create_main_cluster = false' \
	      > /etc/postgresql-common/createcluster.conf; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  elif [ "$$CI" = true ]; then \
	    echo "CI needs PostgreSQL: apt-get install postgresql (as root), or set SAGELITE_TEST_DATABASE_URL" >&2; exit 1; \
	  fi; \
	fi

bench-api: $(STAMP)
	$(BIN)/python bench/api_throughput.py

clean:
	rm -rf $(VENV) .venv-sdk2 .venv-sdk3 .sagelite .pytest_cache .mypy_cache .ruff_cache
