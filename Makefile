# The two commands of the README: `make demo` and `make test`.
# Both build the environment in .venv first (fast when it is already there).
PY := .venv/bin/python

.PHONY: install test demo bench gpu-kit gpu-dry-run clean-data

install:
	bash tools/install_env.sh

test: install
	$(PY) -m pytest tests -q -p no:cacheprovider

demo: install
	$(PY) tools/demo.py

bench: install
	$(PY) benchmarks/run_all.py

# wheels + mmcv source for a bare, offline GPU machine (Python 3.12), in
# .gpu_kit/ (docs/gpu_check.md)
gpu-kit:
	bash tools/gpu/make_kit.sh

# the GPU machine's stack (Python 3.12, torch 2.11.0+cu130), GPU aside, in
# .gpu_twin/ (about 5 GB downloaded once; not part of `make test`)
.PHONY: gpu-twin
gpu-twin:
	bash tools/gpu/make_twin.sh

# on a GPU machine (after `make gpu-kit` here): bash tools/gpu/check.sh
# here: the same steps on CPU, under the twin when it is built
gpu-dry-run: install gpu-kit
	PYTHON=$(if $(wildcard .gpu_twin/.twin_complete),.gpu_twin/bin/python,$(PY)) \
	  bash tools/gpu/check.sh --dry-run bench_results/gpu_check_dry_run

clean-data:
	rm -rf data/toy_coco work_dirs/demo
