"""Importers: a Hugging Face ``config.json`` to a model row, a provider price list to API rows.

Each importer reads a file the user gives (no network), maps the fields it knows, validates
the result as the catalog does (:class:`~tokenfab.catalog.Model`,
:class:`~tokenfab.catalog.ApiPrice`) and reports what it assumed or could not map. Rows are
written to a user catalog directory with :func:`write_rows`, where every command finds them.

Field names follow the ``transformers`` configuration classes of each architecture
(``LlamaConfig``, ``Qwen3MoeConfig``, ``Qwen3NextConfig``, ``DeepseekV3Config``,
``GptOssConfig``, ``Gemma3TextConfig``, ``MiniMaxM2Config`` ...); multimodal configurations
are read from their ``text_config``.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tokenfab.catalog import TABLES, ApiPrice, Model, Record, _describe_error
from tokenfab.errors import CatalogError, FileInputError
from tokenfab.fileio import read_text
from tokenfab.perf.params import parameter_breakdown
from tokenfab.words import plural

__all__ = [
    "ImportResult",
    "model_from_config",
    "prices_from_litellm",
    "prices_from_openrouter",
    "read_json",
    "write_rows",
]

# config.json keys read by model_from_config (everything else is reported as unmapped when it
# names an architecture feature: see _FEATURE_KEYS)
_DTYPES = {
    "bfloat16": "bf16",
    "float16": "fp16",
    "float32": "fp32",
    "float8_e4m3fn": "fp8",
}
_QUANT = {"fp8": "fp8", "mxfp4": "mxfp4"}
# keys that change the parameter count or the cache but that the schema does not describe
_FEATURE_KEYS = (
    "attn_type_list",
    "moe_latent_size",  # Nemotron 3 Super/Ultra LatentMoE: experts in a smaller latent width
    "linear_attn_config",
    "num_kv_shared_layers",
    "hidden_size_per_layer_input",
    "altup_num_inputs",
    "use_double_wide_mlp",
)


@dataclass
class ImportResult:
    """Rows an importer produced, with what it assumed and what it left out."""

    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


IMPORT_MAX_BYTES = 50_000_000
"""A model's config.json is a few kB and LiteLLM's price map about 1 MB; 50 MB bounds the read."""


def read_json(path: Path) -> Any:
    """A JSON file, or one :class:`CatalogError` line naming the file and what is wrong."""
    try:
        text = read_text(path, what="JSON file", max_bytes=IMPORT_MAX_BYTES)
    except FileInputError as exc:
        raise CatalogError(str(exc)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from None
    except RecursionError:
        raise CatalogError(f"{path}: JSON nested too deeply to be a price list or config") from None


def _get(cfg: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = cfg.get(key)
        if value is not None:
            return value
    return None


def _int(cfg: dict[str, Any], where: str, *keys: str) -> int | None:
    value = _get(cfg, *keys)
    if value is None:
        return None
    return _whole(value, where, keys[0])


def _whole(value: Any, where: str, key: str) -> int:
    """A config value that must be a whole number, as an int (CatalogError otherwise: a JSON
    ``Infinity`` or ``NaN``, which Python's json reads, ended in an OverflowError or
    ValueError inside ``int()``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise CatalogError(f"{where}: {key}: expected a whole number, got {value!r}")
    return int(value)


def _weight_only_int(quant: dict[str, Any]) -> str | None:
    """``int4`` for a compressed-tensors checkpoint whose weights are 4-bit integers."""
    if str(quant.get("quant_method", "")).lower() != "compressed-tensors":
        return None
    for group in (quant.get("config_groups") or {}).values():
        weights = (group or {}).get("weights") or {}
        if weights.get("num_bits") == 4 and weights.get("type") == "int":
            return "int4"
    return None


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._\-]+", "-", text.lower()).strip("-._")
    return slug[:80] or "model"


# Nemotron-H block letters (hybrid_override_pattern) and names (layers_block_type)
_NEMOTRON_BLOCKS = {
    "M": "M",
    "*": "F",
    "-": "P",
    "E": "P",
    "mamba": "M",
    "attention": "F",
    "mlp": "P",
    "moe": "P",
}


def _nemotron_blocks(cfg: dict[str, Any], layers: int, where: str) -> str | None:
    """Nemotron-H's blocks as layer letters (M Mamba2, F attention, P FFN block), or None."""
    pattern = cfg.get("hybrid_override_pattern")
    key = "hybrid_override_pattern"
    if pattern is None and isinstance(cfg.get("layers_block_type"), list):
        pattern, key = cfg["layers_block_type"], "layers_block_type"
    if pattern is None:
        return None
    blocks = list(pattern) if isinstance(pattern, str) else pattern
    if not isinstance(blocks, list) or len(blocks) != layers:
        raise CatalogError(f"{where}: {key}: expected {layers} blocks (num_hidden_layers)")
    unknown = sorted({str(b) for b in blocks if b not in _NEMOTRON_BLOCKS})
    if unknown:
        raise CatalogError(
            f"{where}: {key}: unknown block {unknown[0]!r}; allowed: M, *, -, E (mamba, "
            "attention, mlp, moe)"
        )
    if {"-", "E"} <= set(blocks) or {"mlp", "moe"} <= set(blocks):
        raise CatalogError(
            f"{where}: {key}: mixes dense (-, mlp) and MoE (E, moe) blocks; the models schema "
            "holds one kind of feed-forward block"
        )
    return "".join(_NEMOTRON_BLOCKS[b] for b in blocks)


def _layer_letters(cfg: dict[str, Any], layers: int, where: str) -> str | None:
    """Per-layer attention as one letter a layer (F full, S sliding, L linear, M Mamba2, P FFN
    block without mixer), or None."""
    blocks = _nemotron_blocks(cfg, layers, where)
    if blocks is not None:
        return blocks
    types = cfg.get("layer_types")
    if types is not None:
        if not isinstance(types, list) or len(types) != layers:
            raise CatalogError(
                f"{where}: layer_types: expected a list of {layers} entries (num_hidden_layers)"
            )
        letters = []
        for t in types:
            if t in ("full_attention", "attention", "global"):
                letters.append("F")
            elif t in ("sliding_attention", "sliding_window", "local"):
                letters.append("S")
            elif t in ("linear_attention", "gated_deltanet"):
                letters.append("L")
            else:
                raise CatalogError(
                    f"{where}: layer_types: unknown layer type {t!r}; allowed: full_attention, "
                    "sliding_attention, linear_attention"
                )
        return "".join(letters)
    interval = _int(cfg, where, "full_attention_interval")
    if interval:  # Qwen3-Next / Qwen3.5: every interval-th layer is full, the rest linear
        return "".join("F" if (i + 1) % interval == 0 else "L" for i in range(layers))
    pattern = _int(cfg, where, "sliding_window_pattern")
    if pattern and cfg.get("sliding_window"):  # Gemma 3: every pattern-th layer is global
        return "".join("F" if (i + 1) % pattern == 0 else "S" for i in range(layers))
    return None


def _compressed_letters(
    cfg: dict[str, Any], layers: int, where: str
) -> tuple[str, int | None, int | None] | None:
    """DeepSeek-V4's ``compress_ratios`` as layer letters (S window only, C compressed sparse,
    H heavily compressed) with the C and H ratios, or None when the config has none."""
    ratios = cfg.get("compress_ratios")
    if ratios in (None, [], 0):
        return None
    if not isinstance(ratios, list) or len(ratios) < layers:
        raise CatalogError(
            f"{where}: compress_ratios: expected a list of at least {layers} entries "
            "(num_hidden_layers; entries beyond them describe multi-token prediction)"
        )
    main = ratios[:layers]
    if any(isinstance(r, bool) or not isinstance(r, int) or r < 0 for r in main):
        raise CatalogError(f"{where}: compress_ratios: expected whole numbers >= 0")
    if not cfg.get("sliding_window"):
        raise CatalogError(
            f"{where}: sliding_window: missing; compressed attention keeps a window beside "
            "its compressed entries"
        )
    # the indexed (sparse) ratio is the smallest non-zero one, the dense the largest
    kinds = sorted({r for r in main if r})
    if len(kinds) > 2 or (len(kinds) == 2 and not cfg.get("index_topk")):
        raise CatalogError(
            f"{where}: compress_ratios: ratios {kinds}; the schema holds one indexed ratio (C, "
            "with index_topk) and one dense ratio (H)"
        )
    sparse = kinds[0] if cfg.get("index_topk") and kinds else None
    dense = kinds[-1] if kinds and kinds[-1] != sparse else None
    letters = "".join("S" if r == 0 else ("C" if r == sparse else "H") for r in main)
    return letters, sparse, dense


def model_from_config(
    config: dict[str, Any],
    *,
    model_id: str | None = None,
    source: str,
    as_of: date,
    retrieved: date | None = None,
    name: str | None = None,
    developer: str | None = None,
    total_params_b: float | None = None,
    active_params_b: float | None = None,
    params_source: str | None = None,
    released: date | None = None,
    active_params_basis: str = "with_embeddings",
    where: str = "config.json",
) -> ImportResult:
    """A model row from a Hugging Face ``config.json`` (already parsed).

    Parameters
    ----------
    config : dict
        The parsed configuration; a multimodal one is read from its ``text_config``.
    model_id : str, optional
        Catalog id; default: ``_name_or_path`` or ``model_type``, lowercased.
    source, as_of, retrieved : str, date, date
        Where the configuration comes from (its URL), the source's date and the date read.
    name, developer : str, optional
        Display name and developer; default: the id and "unknown".
    total_params_b, active_params_b : float, optional
        Published counts [billions]; without them the computed counts are stored and the
        row's ``params_source`` says so.
    params_source : str, optional
        Where the published counts come from.
    released : date, optional
        Publication date of the weights.
    active_params_basis : str
        What the published active count includes (see ``Model.active_params_basis``).
    where : str
        File name used in error messages.

    Returns
    -------
    ImportResult
        One row (a dict of ``models.csv`` columns) and notes on assumptions.

    Raises
    ------
    CatalogError
        One line naming the field when a required field is missing or malformed, or when the
        architecture has layers the schema cannot describe (compressed attention, latent
        MoE).
    """
    if not isinstance(config, dict):
        raise CatalogError(f"{where}: expected a JSON object (a Hugging Face config.json)")
    cfg = dict(config)
    notes: list[str] = []
    if isinstance(config.get("text_config"), dict):
        cfg = {**{k: v for k, v in config.items() if k != "text_config"}, **config["text_config"]}
        notes.append("read the text model from text_config; the vision encoder is not counted")
    for key in _FEATURE_KEYS:
        if cfg.get(key) not in (None, 0, False, [], ""):  # 0 / false: the feature is off
            raise CatalogError(
                f"{where}: {key}: this architecture's layers (compressed or shared-KV attention, "
                "latent MoE) are not in the models schema; describe it by hand or leave it out"
            )
    model_type = str(cfg.get("model_type") or "")
    layers = _int(cfg, where, "num_hidden_layers", "n_layer", "num_layers")
    hidden = _int(cfg, where, "hidden_size", "n_embd", "d_model")
    heads = _int(cfg, where, "num_attention_heads", "n_head")
    vocab = _int(cfg, where, "vocab_size")
    for key, value in (
        ("num_hidden_layers", layers),
        ("hidden_size", hidden),
        ("num_attention_heads", heads),
        ("vocab_size", vocab),
    ):
        if value is None:
            raise CatalogError(f"{where}: {key}: missing; a decoder config.json names it")
        if value < 1:  # it said "missing" of a 0 the file gives
            raise CatalogError(f"{where}: {key}: {value} is out of range; allowed: 1 or more")
    assert layers and hidden and heads and vocab  # for the type checker; checked above
    kv_heads = _int(cfg, where, "num_key_value_heads", "num_kv_heads") or heads
    head_dim = _int(cfg, where, "head_dim")

    # mixture of experts
    experts = _int(cfg, where, "n_routed_experts", "num_local_experts", "num_experts") or 0
    top_k = (
        _int(cfg, where, "num_experts_per_tok", "experts_per_token", "moe_topk", "top_k_experts")
        or 0
    )
    shared = _int(cfg, where, "n_shared_experts", "num_shared_experts") or 0
    moe_width = _int(cfg, where, "moe_intermediate_size")
    shared_width = _int(
        cfg, where, "shared_expert_intermediate_size", "moe_shared_expert_intermediate_size"
    )
    ffn_width = _int(cfg, where, "intermediate_size", "n_inner", "ffn_dim")
    first_dense = _int(cfg, where, "first_k_dense_replace") or 0
    period = (
        _int(cfg, where, "moe_layer_freq", "interleave_moe_layer_step", "decoder_sparse_step") or 1
    )
    if cfg.get("mlp_only_layers"):
        only = sorted(_whole(i, where, "mlp_only_layers") for i in cfg["mlp_only_layers"])
        if only != list(range(len(only))):
            raise CatalogError(
                f"{where}: mlp_only_layers: dense layers {only} are not the first layers; "
                "the schema holds dense layers first (first_dense_layers)"
            )
        first_dense = max(first_dense, len(only))
    kind = "moe" if experts > 1 and top_k else "dense"
    if kind == "moe" and not moe_width:
        # Mixtral, gpt-oss, MiniMax: intermediate_size is the width of one expert
        moe_width, ffn_width = ffn_width, None if not first_dense else ffn_width
        notes.append("no moe_intermediate_size: intermediate_size taken as one expert's width")
    if shared_width == 0:
        shared_width = None
    if cfg.get("enable_moe_block") and kind == "moe" and ffn_width:
        # Gemma 4 26B-A4B: every layer runs a dense MLP of intermediate_size beside the routed
        # experts, which is what a shared expert of that width is
        shared, shared_width = 1, ffn_width
        notes.append(
            "enable_moe_block: the dense MLP beside the experts is stored as one shared expert "
            f"of width intermediate_size ({ffn_width})"
        )

    # attention
    kv_rank = _int(cfg, where, "kv_lora_rank")
    attention = "mla" if kv_rank else ("mha" if kv_heads == heads else "gqa")
    rope = _int(cfg, where, "qk_rope_head_dim")
    nope = _int(cfg, where, "qk_nope_head_dim")
    v_dim = _int(cfg, where, "v_head_dim")
    if attention == "mla":
        head_dim = (nope or 0) + (rope or 0)
    if not head_dim:
        head_dim = hidden // heads
        notes.append(f"no head_dim: hidden_size / num_attention_heads = {head_dim}")
    compressed = _compressed_letters(cfg, layers, where)
    letters = compressed[0] if compressed else _layer_letters(cfg, layers, where)
    window = _int(cfg, where, "sliding_window")
    if cfg.get("use_sliding_window") is False:
        window = None  # Qwen2/Qwen3 configs carry a window they do not use
    if letters is not None and not set("SCH") & set(letters):
        window = None
    window_layers = None
    if window and letters is None:
        letters = "S" * layers
        notes.append("sliding_window without layer_types: every layer uses the window")
    if window and letters:
        window_layers = sum(letters.count(x) for x in "SCH")
    if compressed:
        notes.append(
            f"compress_ratios: {letters.count('S')} window-only (S), {letters.count('C')} "
            f"compressed sparse (C, ratio {compressed[1]}) and {letters.count('H')} heavily "
            f"compressed (H, ratio {compressed[2]}) layers, each with a {window}-token window"
        )
    if letters is not None and set(letters) == {"F"}:
        letters = None
    linear = "gated_deltanet" if letters and "L" in letters else None

    bias = cfg.get("attention_bias")
    if bias is None:
        bias = model_type in ("qwen2", "qwen2_moe")  # Qwen2 q/k/v carry biases, not in config
        if bias:
            notes.append("attention_bias not in config: Qwen2 architectures use q/k/v biases")
    tied = cfg.get("tie_word_embeddings")
    if tied is None:
        tied = model_type.startswith("gemma")
        notes.append(
            f"tie_word_embeddings not in config: {str(tied).lower()} "
            "(the transformers default of this architecture)"
        )

    dtype = str(_get(cfg, "torch_dtype", "dtype") or "")
    quant = cfg.get("quantization_config") or {}
    precision = _QUANT.get(str(quant.get("quant_method", "")).lower()) or _weight_only_int(quant)
    precision = precision or _DTYPES.get(dtype)
    if str(cfg.get("expert_dtype") or "").lower() == "fp4":
        # DeepSeek-V4: routed experts in FP4 with one 8-bit scale a 32 values (the MXFP4
        # layout), the other matrices in FP8; tokenfab's mxfp4 checkpoints keep the
        # non-expert matrices in 16 bits, which overstates them by one byte a parameter
        precision = "mxfp4"
        notes.append(
            "expert_dtype fp4: stored as mxfp4 (experts 4-bit with block scales); the "
            "checkpoint's FP8 non-expert matrices are counted at 16 bits"
        )
    if precision is None:
        precision = "bf16"
        notes.append(f"dtype {dtype or 'not given'}: stored as bf16")
    context = _int(cfg, where, "max_position_embeddings", "n_positions", "seq_length")
    if not context:
        raise CatalogError(f"{where}: max_position_embeddings: missing")

    rid = model_id or _slug(str(cfg.get("_name_or_path") or model_type or "model").split("/")[-1])
    row: dict[str, Any] = {
        "id": rid,
        "name": name or rid,
        "developer": developer or "unknown",
        "kind": kind,
        "attention": attention,
        "num_layers": layers,
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_kv_heads": kv_heads,
        "head_dim": head_dim,
        "intermediate_size": ffn_width if (kind == "dense" or first_dense) else None,
        "vocab_size": vocab,
        "tie_word_embeddings": bool(tied),
        "num_experts": experts if kind == "moe" else 0,
        "experts_per_token": top_k if kind == "moe" else 0,
        "num_shared_experts": shared if kind == "moe" else 0,
        "moe_intermediate_size": moe_width if kind == "moe" else None,
        "shared_expert_intermediate_size": shared_width if kind == "moe" else None,
        "first_dense_layers": first_dense if kind == "moe" else 0,
        "moe_layer_period": period if kind == "moe" else 1,
        "kv_lora_rank": kv_rank,
        # MLA, and DeepSeek-V4's low-rank query beside its one shared KV head
        "q_lora_rank": _int(cfg, where, "q_lora_rank")
        if attention == "mla" or compressed
        else None,
        "qk_rope_head_dim": rope if attention == "mla" else None,
        "qk_nope_head_dim": nope if attention == "mla" else None,
        "v_head_dim": v_dim if attention == "mla" else None,
        "sliding_window": window,
        "sliding_window_layers": window_layers,
        "attention_bias": bool(bias),
        # Nemotron-H's FFNs are two-matrix squared-ReLU MLPs (mlp_hidden_act relu2)
        "ffn_gated": str(cfg.get("mlp_hidden_act") or "") != "relu2",
        "ffn_bias": bool(cfg.get("mlp_bias")) or model_type == "gpt_oss",
        # gpt-oss and DeepSeek-V4 (attn_sink) learn one sink logit a head
        "attention_sinks": model_type == "gpt_oss" or bool(compressed),
        "attention_output_gate": bool(cfg.get("attn_output_gate", linear is not None)),
        "layer_types": letters,
        "linear_attention": linear,
        "max_context_tokens": context,
        "native_precision": precision,
        "released": released,
        "active_params_basis": active_params_basis,
        "source": source,
        "as_of": as_of,
        "retrieved": retrieved,
    }
    if linear:
        for key in (
            "linear_num_key_heads",
            "linear_num_value_heads",
            "linear_key_head_dim",
            "linear_value_head_dim",
            "linear_conv_kernel_dim",
        ):
            row[key] = _int(cfg, where, key)
    if letters and "M" in letters:
        for ours, theirs in (
            ("mamba_num_heads", "mamba_num_heads"),
            ("mamba_head_dim", "mamba_head_dim"),
            ("mamba_state_size", "ssm_state_size"),
            ("mamba_groups", "n_groups"),
            ("mamba_conv_kernel", "conv_kernel"),
        ):
            row[ours] = _int(cfg, where, theirs)
            if not row[ours]:
                raise CatalogError(f"{where}: {theirs}: missing; Mamba2 layers (M) need it")
    if letters and "P" in letters:
        notes.append(
            "Nemotron-H blocks: each holds one token mixer (Mamba2 M, attention F) or one "
            "feed-forward network (P), with one norm each"
        )
    # Gemma 4: full-attention layers with their own head width and KV heads, keys as values
    global_hd = _int(cfg, where, "global_head_dim")
    global_kv = _int(cfg, where, "num_global_key_value_heads")
    k_eq_v = bool(cfg.get("attention_k_eq_v"))
    if (global_hd and global_hd != head_dim) or (global_kv and global_kv != kv_heads) or k_eq_v:
        if not (letters and "F" in letters and "S" in letters):
            raise CatalogError(
                f"{where}: global_head_dim/num_global_key_value_heads/attention_k_eq_v: need "
                "layer_types that mix full and sliding layers"
            )
        row["full_attention_head_dim"] = global_hd if global_hd != head_dim else None
        row["full_attention_kv_heads"] = global_kv if global_kv != kv_heads else None
        row["full_attention_shared_kv"] = k_eq_v
        notes.append(
            "full-attention layers have their own heads (global_head_dim, "
            "num_global_key_value_heads, attention_k_eq_v: no value projection)"
        )
    if compressed:
        _, sparse_ratio, dense_ratio = compressed
        row["compress_ratio_sparse"] = sparse_ratio
        row["compress_ratio_dense"] = dense_ratio
        # one KV head serves as keys and values (DeepSeek-V4 wkv: d x head_dim)
        row["kv_shared"] = True
        row["o_lora_rank"] = _int(cfg, where, "o_lora_rank")
        row["o_groups"] = _int(cfg, where, "o_groups")
        row["hc_mult"] = _int(cfg, where, "hc_mult")
        if bool(row["o_lora_rank"]) != bool(row["o_groups"]):
            raise CatalogError(f"{where}: o_lora_rank and o_groups: give both or neither")
        notes.append(
            "DeepSeek-V4 attention: one KV head of head_dim as keys and values, low-rank query "
            "(q_lora_rank), grouped low-rank output (o_groups x o_lora_rank), one sink a head"
        )
        if cfg.get("hc_mult"):
            notes.append(f"hc_mult: {cfg['hc_mult']} residual streams (hyper-connections)")
        if cfg.get("num_hash_layers"):
            notes.append(
                f"num_hash_layers: the first {cfg['num_hash_layers']} MoE layers route by token "
                "id (same expert count; their token-to-expert table is not a weight)"
            )
    if cfg.get("index_topk"):
        row["sparse_attention"] = "csa" if compressed else "dsa"
        row["sparse_attention_topk_tokens"] = _int(cfg, where, "index_topk")
        row["indexer_num_heads"] = _int(cfg, where, "index_n_heads")
        row["indexer_head_dim"] = _int(cfg, where, "index_head_dim")
    if cfg.get("num_nextn_predict_layers") or cfg.get("mtp_num_hidden_layers"):
        notes.append("multi-token-prediction layers are outside num_hidden_layers: not counted")

    computed = _computed_counts(row, where)
    row["total_params_b"] = total_params_b if total_params_b is not None else computed[0]
    row["active_params_b"] = active_params_b if active_params_b is not None else computed[1]
    if total_params_b is None or active_params_b is None:
        row["params_source"] = params_source or "computed by tokenfab from config.json"
        notes.append("no published count given: the computed counts are stored")
    else:
        row["params_source"] = params_source or "published counts given to the importer"
    record = _validate(Model, row, where)
    row = {k: v for k, v in record.model_dump().items() if k in row or v is not None}
    return ImportResult([row], notes)


def _computed_counts(row: dict[str, Any], where: str) -> tuple[float, float]:
    from types import SimpleNamespace

    p = parameter_breakdown(SimpleNamespace(**row))
    return round(p.total / 1e9, 2), round(p.active_as(row["active_params_basis"]) / 1e9, 2)


def _validate(record: type[Record], row: dict[str, Any], where: str) -> Record:
    try:
        return record.model_validate({k: v for k, v in row.items() if v is not None})
    except ValidationError as exc:
        raise CatalogError(f"{where}: {_describe_error(exc.errors()[0], record)}") from None


# -- price lists --------------------------------------------------------------------------------


def _per_mtok(value: Any, where: str, key: str) -> float | None:
    """A per-token USD price (number or numeric string) as USD per million tokens."""
    if value is None or value == "":
        return None
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise CatalogError(
            f"{where}: {key}: expected a price in USD per token, got {value!r}"
        ) from None
    if not math.isfinite(price):
        raise CatalogError(f"{where}: {key}: expected a finite price, got {value!r}")
    if price < 0:  # OpenRouter marks variable-priced routers with -1
        return None
    return round(price * 1e6, 6)


def _price_row(
    rid: str,
    provider: str,
    model_name: str,
    prices: dict[str, float | None],
    context: Any,
    as_of: date,
    source: str,
    retrieved: date | None,
    where: str,
) -> dict[str, Any] | None:
    if prices["input_usd_per_mtok"] is None or prices["output_usd_per_mtok"] is None:
        return None
    row: dict[str, Any] = {
        "id": _slug(rid),
        "provider": provider,
        "model_name": model_name,
        **prices,
        "context_tokens": int(context) if isinstance(context, int | float) and context else None,
        "effective_date": as_of,
        "source": source,
        "as_of": as_of,
        "retrieved": retrieved,
    }
    _validate(ApiPrice, row, where)
    return row


def prices_from_openrouter(
    data: Any, *, as_of: date, source: str, retrieved: date | None = None, where: str = "file"
) -> ImportResult:
    """API price rows from OpenRouter's models list (``GET /api/v1/models`` saved as JSON).

    Each entry's ``pricing`` holds USD per token as strings: ``prompt``, ``completion``,
    ``input_cache_read``, ``input_cache_write``, ``internal_reasoning`` (OpenRouter API
    reference, https://openrouter.ai/docs/api-reference/list-available-models). Entries
    without a prompt and completion price, or with a negative (variable) price, are skipped
    and counted in the notes.
    """
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise CatalogError(
            f"{where}: expected an OpenRouter models list: an object with a 'data' list"
        )
    rows: list[dict[str, Any]] = []
    skipped = 0
    for i, entry in enumerate(data["data"]):
        at = f"{where}: data[{i}]"
        if not isinstance(entry, dict) or not entry.get("id"):
            raise CatalogError(f"{at}: expected an object with an 'id'")
        at = f"{at} ({entry['id']})"
        pricing = entry.get("pricing")
        if not isinstance(pricing, dict):
            raise CatalogError(f"{at}: pricing: missing or not an object")
        slug = str(entry["id"])
        provider = slug.split("/")[0] if "/" in slug else "openrouter"
        prices = {
            "input_usd_per_mtok": _per_mtok(pricing.get("prompt"), at, "pricing.prompt"),
            "output_usd_per_mtok": _per_mtok(pricing.get("completion"), at, "pricing.completion"),
            "cached_input_usd_per_mtok": _per_mtok(
                pricing.get("input_cache_read"), at, "pricing.input_cache_read"
            ),
            "cache_write_usd_per_mtok": _per_mtok(
                pricing.get("input_cache_write"), at, "pricing.input_cache_write"
            ),
            "reasoning_usd_per_mtok": _per_mtok(
                pricing.get("internal_reasoning"), at, "pricing.internal_reasoning"
            ),
        }
        row = _price_row(
            f"openrouter-{slug}-{as_of.isoformat()}",
            f"OpenRouter ({provider})",
            str(entry.get("name") or slug),
            prices,
            entry.get("context_length"),
            as_of,
            source,
            retrieved,
            at,
        )
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    notes = [
        f"{plural(skipped, 'entry', 'entries')} without a fixed prompt and completion price skipped"
    ] * bool(skipped)
    return ImportResult(rows, notes)


# LiteLLM's per-token price keys (model_prices_and_context_window.json) -> our per-Mtok columns
LITELLM_FIELDS = {
    "input_usd_per_mtok": "input_cost_per_token",
    "output_usd_per_mtok": "output_cost_per_token",
    "cached_input_usd_per_mtok": "cache_read_input_token_cost",
    "cache_write_usd_per_mtok": "cache_creation_input_token_cost",
    "reasoning_usd_per_mtok": "output_cost_per_reasoning_token",
    "batch_input_usd_per_mtok": "input_cost_per_token_batches",
    "batch_output_usd_per_mtok": "output_cost_per_token_batches",
}


def prices_from_litellm(
    data: Any, *, as_of: date, source: str, retrieved: date | None = None, where: str = "file"
) -> ImportResult:
    """API price rows from LiteLLM's ``model_prices_and_context_window.json``.

    Keys per model (USD per token): ``input_cost_per_token``, ``output_cost_per_token``,
    ``cache_read_input_token_cost``, ``cache_creation_input_token_cost``,
    ``output_cost_per_reasoning_token``, and ``input_cost_per_token_batches`` /
    ``output_cost_per_token_batches``; ``litellm_provider`` names the provider
    (github.com/BerriAI/litellm, ``model_prices_and_context_window.json`` and its
    ``sample_spec``). Only ``mode: chat`` or ``completion`` entries with both token prices
    become rows.
    """
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: expected a LiteLLM price map: an object of model entries")
    rows: list[dict[str, Any]] = []
    skipped = 0
    for key, entry in data.items():
        if key == "sample_spec":
            continue
        at = f"{where}: {key}"
        if not isinstance(entry, dict):
            raise CatalogError(f"{at}: expected an object of prices")
        if entry.get("mode", "chat") not in ("chat", "completion", "responses"):
            continue
        prices = {
            ours: _per_mtok(entry.get(theirs), at, theirs)
            for ours, theirs in LITELLM_FIELDS.items()
        }
        provider = str(entry.get("litellm_provider") or "unknown")
        row = _price_row(
            f"litellm-{key}-{as_of.isoformat()}",
            provider,
            key,
            prices,
            _get(entry, "max_input_tokens", "max_tokens"),
            as_of,
            source,
            retrieved,
            at,
        )
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    notes = [f"{plural(skipped, 'entry', 'entries')} without both token prices skipped"] * bool(
        skipped
    )
    return ImportResult(rows, notes)


# -- writing ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_rows(directory: Path, table: str, rows: list[dict[str, Any]]) -> Path:
    """Add or replace rows (by id) in a user catalog directory's file for ``table``.

    The file keeps its columns and gains any new ones; a row whose id is already there is
    replaced. The new file is read back with the catalog's validator before it replaces the
    old one, so a bad or half-written file is never left behind.
    """
    spec = TABLES[table]
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / spec.filename
    existing: list[dict[str, str]] = []
    header: list[str] = []
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            existing = list(reader)
    new_ids = {r["id"] for r in rows}
    for row in rows:
        for key, value in row.items():
            if key not in header and value is not None:
                header.append(key)
    for name in ("source", "as_of"):
        if name not in header:
            header.append(name)
    kept = [r for r in existing if r.get("id") not in new_ids]
    from tokenfab.catalog import read_records
    from tokenfab.fileio import atomic_output

    # written beside the file, validated, then renamed over it: a row the catalog refuses, or
    # an interrupted write, leaves the user's catalog file as it was
    with atomic_output(path) as tmp:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
            for r in kept:
                writer.writerow(r)
            for r in rows:
                writer.writerow({k: _cell(v) for k, v in r.items() if k in header})
        read_records(tmp, spec.record)
    return path
