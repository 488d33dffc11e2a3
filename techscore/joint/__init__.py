"""Joint modelling with banks: private matching of firm codes and a shared tracking server with per-bank isolation.

- `techscore.joint.psi`: ECDH private set intersection of enterprise codes (`intersect`, `round1`, `round2`,
  `finish`), so the platform and a bank find the firms they share without revealing the others.
- `techscore.joint.server`: start, stop and provision an authenticated MLflow tracking server on which each bank
  sees its own experiment only (`start_server`, `provision`, `stop_server`).
- `techscore.joint.auth`: a small REST client for the server's users, experiments and permissions.
- `techscore.joint.experiment`: `run_joint`, the joint-modelling experiment (own vs pooled models, platform vs
  platform + bank features, on each bank's own test loans), split by job: `fitting` (variants fitted, scored and
  evaluated), `tables` (comparison tables and files), `tracking` (parent and child runs, a callback like
  training's), with its spec (`spec`), the bank's own features (the catalogue's `bank` group), cut-offs and paired bootstrap
  intervals (`compare`), the tracking parties (`runs`) and the comparison chart (`chart`).

Submodules are imported on use, so importing `techscore.joint` stays light.
"""

from __future__ import annotations

from techscore.lazy import lazy_exports

_EXPORTS = {
    "JointResult": "techscore.joint.experiment",
    "run_joint": "techscore.joint.experiment",
    "JointSpec": "techscore.joint.spec",
    "load_joint": "techscore.joint.spec",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
