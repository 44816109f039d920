"""Each peer in a venv of its own, made on first use from pinned requirements, so a peer can
never move autopipe's pins (AutoGluon needs pandas < 2.4, autopipe runs pandas 3) and none of
them is a dependency of autopipe.

A venv's directory is named by its key and a hash of its requirements: changing a pin makes a
new one beside the old. ``peers-env.json`` is written inside once pip has succeeded, so a venv
whose install was cut short is rebuilt rather than used.

    python benchmarks/peers_venvs.py [--venvs DIR] [KEY ...]   # make them ahead of a run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENVS = ROOT / "benchmarks" / ".venvs"
MARKER = "peers-env.json"
VERSIONED = ("flaml", "autogluon.tabular", "scikit-learn", "lightgbm", "xgboost-cpu",
             "xgboost", "catboost", "pandas", "numpy")
"""The installed versions a venv records, for the results."""


@dataclass(frozen=True)
class PeerEnv:
    key: str
    requirements: tuple[str, ...]

    def directory(self, root: Path) -> Path:
        digest = hashlib.sha256("\n".join(self.requirements).encode()).hexdigest()[:8]
        return root / f"{self.key}-{digest}"


ENVS = {
    # flaml[automl]'s own requirements, spelled out to take xgboost-cpu: the extra asks for
    # the `xgboost` distribution, which on PyPI is the CUDA build (~800 MB with NCCL). The
    # versions are autopipe's, so plain FLAML runs the same learners as autopipe's search.
    "flaml": PeerEnv("flaml", (
        "flaml==2.7.0", "lightgbm==4.7.0", "xgboost-cpu==2.1.4", "scikit-learn==1.9.1",
        "scipy==1.17.1", "pandas==3.1.1", "numpy==2.4.6")),
    # The tabular extras without torch: no neural networks, as in PEERS.md.
    "autogluon": PeerEnv("autogluon", ("autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3",)),
    "sklearn": PeerEnv("sklearn", (
        "scikit-learn==1.9.1", "scipy==1.17.1", "pandas==3.1.1", "numpy==2.4.6")),
}


@dataclass(frozen=True)
class Venv:
    key: str
    directory: str
    requirements: tuple[str, ...]
    install_s: float
    size_mb: float
    versions: dict[str, str]

    @property
    def python(self) -> Path:
        return Path(self.directory) / "bin" / "python"


def ensure(env: PeerEnv, root: Path, base_python: str = "python3.11") -> Venv:
    """The peer's venv under ``root``, made now if it is not there complete."""
    directory = env.directory(root)
    marker = directory / MARKER
    if marker.exists():
        recorded = json.loads(marker.read_text())
        return Venv(**recorded | {"requirements": tuple(recorded["requirements"])})
    if directory.exists():
        shutil.rmtree(directory)
    print(f"venv {env.key}: creating {directory} ({' '.join(env.requirements)})",
          file=sys.stderr, flush=True)
    started = time.perf_counter()
    step([base_python, "-m", "venv", str(directory)])
    step([str(directory / "bin" / "python"), "-m", "pip", "install", "--quiet",
          *env.requirements])
    python = str(directory / "bin" / "python")
    listed = json.loads(step([python, "-m", "pip", "list", "--format=json"]))
    versions = {p["name"].lower(): p["version"] for p in listed}
    venv = Venv(env.key, str(directory), env.requirements, time.perf_counter() - started,
                tree_mb(directory), {name: versions[name] for name in VERSIONED
                                     if name in versions})
    marker.write_text(json.dumps(asdict(venv), indent=2))
    print(f"venv {env.key}: {venv.size_mb:.0f} MB in {venv.install_s:.0f} s",
          file=sys.stderr, flush=True)
    return venv


def step(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def tree_mb(directory: Path) -> float:
    files = (p for p in directory.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("keys", nargs="*", metavar="KEY", help=f"of {', '.join(ENVS)} (all)")
    parser.add_argument("--venvs", type=Path, default=DEFAULT_VENVS, metavar="DIR")
    parser.add_argument("--python", default="python3.11")
    args = parser.parse_args()
    unknown = set(args.keys) - set(ENVS)
    if unknown:
        parser.error(f"unknown venv(s): {', '.join(sorted(unknown))}")
    for key in args.keys or ENVS:
        venv = ensure(ENVS[key], args.venvs, args.python)
        print(f"{key}: {venv.directory}  {venv.size_mb:.0f} MB, installed in "
              f"{venv.install_s:.0f} s")


if __name__ == "__main__":
    main()
