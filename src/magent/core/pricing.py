"""Model prices: the table shipped with magent, overridable with `--pricing FILE` (YAML or JSON).

A price file has this shape (the shipped one is `magent/data/pricing.yaml`):

    currency: USD
    replace: false            # true: use only this file's models, not the shipped table
    models:
      mistral-large-2512:
        input: 0.5            # USD per million prompt tokens
        output: 1.5           # USD per million completion tokens
        source: https://docs.mistral.ai/models/mistral-large-3-25-12
        as_of: 2026-11-23
        aliases: [mistral-large-latest]   # priced exactly like this model
        note: optional free text

A model is priced only when the table names it, directly or as an alias: `mistral-large-latest` is priced
like `mistral-large-2512` because the table says so, never by guessing from the name. Entries of an
override file replace the shipped entries of the same name, and take over any alias they name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from magent.core.config import _line_of  # the YAML key → line lookup magent.yaml errors use
from magent.core.errors import ConfigError
from magent.core.paths import expand_user

TOKENS_PER_PRICE_UNIT = 1_000_000
SHIPPED_ORIGIN = "shipped price table"
MAX_PRICE = Decimal(1_000_000)  # USD per million tokens: far above any real price, below absurd sums
PRICING_HINT = "price file format: see README, 'magent usage report', Prices (models.NAME.input/output/source/as_of)"


class ModelPrice(BaseModel):
    """The price of one model, in USD per million tokens, with where the figure comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Decimal = Field(ge=0, le=MAX_PRICE, allow_inf_nan=False, description="USD per million prompt tokens")
    output: Decimal = Field(ge=0, le=MAX_PRICE, allow_inf_nan=False, description="USD per million completion tokens")
    source: str = Field(min_length=1, description="where the price was published")
    as_of: date = Field(description="when the price was recorded")
    aliases: tuple[str, ...] = Field(default=(), description="other model names priced exactly like this one")
    note: str | None = None


class PriceFile(BaseModel):
    """One price file, as written."""

    model_config = ConfigDict(extra="forbid")

    currency: Literal["USD"] = "USD"
    replace: bool = False
    models: dict[str, ModelPrice] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aliases_are_unambiguous(self) -> PriceFile:
        owners: dict[str, str] = {}
        for name, price in self.models.items():
            for alias in price.aliases:
                if alias in self.models:
                    raise ValueError(f"models.{name}.aliases: {alias!r} is also a model of its own")
                if alias in owners and owners[alias] != name:
                    raise ValueError(f"models.{name}.aliases: {alias!r} is already an alias of {owners[alias]!r}")
                owners[alias] = name
        return self


class _PriceLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml: 10× faster
    """Safe YAML whose scalar conversions fail as YAML errors with a line (2026-02-30, 5,000-digit ints)."""


def _located(construct):  # noqa: ANN001, ANN202
    def wrapper(loader, node):  # noqa: ANN001, ANN202
        try:
            return construct(loader, node)
        except (ValueError, OverflowError) as exc:
            reason = str(exc).split(";")[0]
            if "digits" in reason:
                reason = "number too large"
            raise yaml.constructor.ConstructorError(None, None, reason, node.start_mark) from None
    return wrapper


for _tag, _construct in list(yaml.SafeLoader.yaml_constructors.items()):
    if _tag and _tag.startswith("tag:yaml.org,2002:") and _tag.rsplit(":", 1)[1] in {"int", "float", "timestamp", "binary"}:
        _PriceLoader.add_constructor(_tag, _located(_construct))
_YAML_LOADER = _PriceLoader


@dataclass(frozen=True)
class PriceMatch:
    """How one model name was priced: directly, or through an alias of a table entry."""

    model: str
    priced_as: str
    price: ModelPrice

    @property
    def via_alias(self) -> bool:
        return self.model != self.priced_as


@dataclass(frozen=True)
class PricingTable:
    """The prices in force for one report, and which files they came from."""

    models: Mapping[str, ModelPrice]
    origins: tuple[str, ...]
    _alias_of: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alias_of = {alias: name for name, price in self.models.items() for alias in price.aliases}
        object.__setattr__(self, "_alias_of", alias_of)

    def lookup(self, model: str | None) -> PriceMatch | None:
        """The price of `model`, by exact name or by a listed alias; None when the table has none."""
        if not model:
            return None
        name = model if model in self.models else self._alias_of.get(model)
        return PriceMatch(model, name, self.models[name]) if name else None


def parse_price_file(text: str, origin: str, *, as_json: bool = False) -> PriceFile:
    """Validate the text of a price file; errors name the file, line and key (ConfigError, exit 2)."""
    try:
        document = json.loads(text) if as_json else yaml.load(text, Loader=_YAML_LOADER)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{origin}:{exc.lineno}: not valid JSON: {exc.msg}", hint=PRICING_HINT) from None
    except (ValueError, RecursionError) as exc:  # a number past Python's 4,300-digit limit, or nesting too deep
        reason = "a number too large" if "digits" in str(exc) else "nesting too deep"
        raise ConfigError(f"{origin}: not a valid price file: {reason}", hint=PRICING_HINT) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", exc)
        raise ConfigError(f"{origin}{where}: not valid YAML: {problem}", hint=PRICING_HINT) from None
    if not isinstance(document, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping with a 'models' key", hint=PRICING_HINT)
    try:
        return PriceFile.model_validate(document)
    except ValidationError as exc:
        node = None if as_json else yaml.compose(text, Loader=_YAML_LOADER)  # line numbers, on error only
        raise _price_error(exc, origin, node) from None


def merge_price_files(base: PriceFile, override: PriceFile) -> dict[str, ModelPrice]:
    """The shipped models with the override's entries on top (or only the override's, with `replace`)."""
    if override.replace:
        return dict(override.models)
    claimed = set(override.models) | {alias for price in override.models.values() for alias in price.aliases}
    merged: dict[str, ModelPrice] = {}
    for name, price in base.models.items():
        if name in claimed:
            continue
        kept = tuple(alias for alias in price.aliases if alias not in claimed)
        merged[name] = price if kept == price.aliases else price.model_copy(update={"aliases": kept})
    merged.update(override.models)
    return merged


def load_pricing(override_path: str | Path | None = None) -> PricingTable:
    """The shipped table, with `override_path` (YAML, or JSON when it ends in .json) applied on top."""
    shipped_text = resources.files("magent").joinpath("data", "pricing.yaml").read_text(encoding="utf-8")
    shipped = parse_price_file(shipped_text, SHIPPED_ORIGIN)
    if override_path is None:
        return PricingTable(dict(shipped.models), (SHIPPED_ORIGIN,))
    path = expand_user(override_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"cannot read the price file {path}: {reason}", hint=PRICING_HINT) from None
    override = parse_price_file(text, str(path), as_json=path.suffix.lower() == ".json")
    origins = (str(path),) if override.replace else (SHIPPED_ORIGIN, str(path))
    return PricingTable(merge_price_files(shipped, override), origins)


def _price_error(exc: ValidationError, origin: str, node: yaml.Node | None) -> ConfigError:
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    line = _line_of(node, loc) if loc else None
    where = f"{origin}:{line}" if line else origin
    dotted = ".".join(loc)
    return ConfigError(f"{where}: {dotted + ': ' if dotted else ''}{message}", hint=PRICING_HINT)
