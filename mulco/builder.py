"""The ``datasets`` builder for in-process use: one BuilderConfig per config name.

``data_dir`` may be a folder written by ``mulco build`` (read as is), a raw folder (built first
into the builder's cache), or omitted (the bundled sample is built). The Hub repo itself is
script-free: there, ``load_dataset("collama/mulco", name)`` reads the Parquet files named in
the card's ``configs:``, the same files this builder reads.

    builder = MulCo(config_name="code_search.en", data_dir="out/mulco")
    builder.download_and_prepare()
    ds = builder.as_dataset()
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import datasets

from . import record, taxonomy

_DESCRIPTION = (
    "MulCo: bilingual (English/Chinese) instruction records for code generation, code "
    "summarization and code search (clone detection, defect detection, cloze test, code "
    "completion, code repair, code translation, query to code)."
)
_HOMEPAGE = "https://huggingface.co/datasets/collama/mulco"


class MulCoConfig(datasets.BuilderConfig):
    """A config name and what it selects."""

    def __init__(self, name: str, **kwargs):
        self.selector = taxonomy.parse(name)
        super().__init__(name=name, version=datasets.Version("0.1.0"), **kwargs)


class MulCo(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = MulCoConfig
    BUILDER_CONFIGS = [MulCoConfig(name) for name in taxonomy.all_names()]
    DEFAULT_CONFIG_NAME = taxonomy.DEFAULT_CONFIG

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION, features=record.features(), homepage=_HOMEPAGE, license="other"
        )

    def _built_folder(self) -> Path:
        data_dir = Path(self.config.data_dir) if self.config.data_dir else None
        if data_dir is not None and (data_dir / "README.md").is_file() and (data_dir / "data").is_dir():
            return data_dir
        from .build import BuildConfig, build, sample_raw_dir

        raw = data_dir or sample_raw_dir()
        key = hashlib.sha256(str(raw.resolve()).encode()).hexdigest()[:12]
        out = Path(self._cache_dir_root) / "mulco_builds" / key
        build(BuildConfig(raw_dir=raw, out=out, progress=False), log=lambda *a: None)
        return out

    def _split_generators(self, dl_manager):
        from .card import read_card_yaml

        folder = self._built_folder()
        configs = {c["config_name"]: c for c in read_card_yaml(folder / "README.md").get("configs", [])}
        taxonomy.check_available(self.config.name, configs)
        from .hub import resolve_data_files  # the card names files by glob

        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"files": [str(folder / p) for p in paths]})
            for split, paths in resolve_data_files(folder, configs[self.config.name]).items()
        ]

    def _generate_examples(self, files: list[str]):
        import pyarrow.parquet as pq

        from datasets.builder import Key

        for shard, path in enumerate(files):
            row = 0
            for batch in pq.ParquetFile(path).iter_batches(batch_size=1000):
                for example in batch.to_pylist():
                    yield Key(shard, row), example
                    row += 1
