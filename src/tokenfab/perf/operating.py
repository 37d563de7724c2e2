"""Operating points: resolve a scenario, search parallelisms and batch sizes, pick the best.

One call evaluates every valid layout (tensor x pipeline x expert parallelism) at every batch
size on a log grid as a single NumPy grid, then applies the objective:

* ``max-throughput`` with no latency target: the most output tokens per second per accelerator
  (MLPerf "Offline");
* ``max-throughput`` with ``ttft_slo_s`` / ``tpot_slo_s``: the most throughput whose time per
  output token and whose time to first token meet the targets. With no request rate there is
  no load to queue behind, so TTFT is the prompt's own time, as without a target: a target
  that does not bind leaves the answer unchanged;
* ``min-latency``: the shortest request latency (first token plus all output tokens) at batch 1;
* a demand (``tokens_per_day`` or ``requests_per_second``): the deployment is placed by cost,
  on a fixed count or sized, by :mod:`tokenfab.sizing` (:func:`estimate` hands it over): at the
  smallest batch on the grid whose capacity carries the peak, per replica, reporting that
  batch's capacity (at most one grid step, about 20 %, above the load), TTFT with the queueing
  at the offered load.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from tokenfab.catalog import Accelerator, Catalog, Model, default_catalog
from tokenfab.errors import InfeasibleError, ScenarioError
from tokenfab.perf.calibration import (
    EngineChoice,
    ErrorBand,
    block_scaled_fp8,
    capacity_label,
    choose_engine,
    error_band,
    hardware,
)
from tokenfab.perf.memory import (
    ModelShape,
    kv_bytes_per_sequence,
    mxfp4_expert_loaded_bytes,
    weight_bytes,
)
from tokenfab.perf.precision import (
    BYTES_PER_ELEMENT,
    check_kv_precision,
    default_kv_precision,
    peak_flops_per_s,
)
from tokenfab.perf.serving import (
    VISIBLE_MEMORY_SHARE,
    Engine,
    Hardware,
    Layout,
    SteadyState,
    closed_loop_ttft_s,
    disaggregated_split,
    disaggregated_state,
    kv_budget_bytes,
    layout,
    max_batch_size,
    memory_utilization_at_tp,
    runtime_reserve_bytes,
    steady_state,
    weight_bytes_per_accelerator,
)
from tokenfab.scenario import Scenario

T = TypeVar("T")

DEFAULT_INPUT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 1000
BATCH_GRID_POINTS = 48

_MEMO: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}
"""What :func:`_memo` derived, by the identities of the objects it came from and the plain
values beside them; each entry holds those objects, so that no id is reused while it lives."""

ENGINE_TABLES = ("software", "efficiency", "closed-loop", "error-bands")
"""The catalog tables :func:`resolve` reads beside the model and accelerator rows."""


def _memo(what: str, refs: tuple[Any, ...], values: tuple[Any, ...], make: Callable[[], T]) -> T:
    """``make()`` once per set of ``refs`` (frozen catalog rows and read-only tables, or an
    object cached here) and ``values``; its arrays are made read-only, since every later call
    shares them (an in-place change raises instead of changing the next estimate).

    A catalog's tables are read-only mappings of frozen records
    (:meth:`tokenfab.catalog.Catalog.table`), so what is derived from them cannot change; a
    table replaced in a catalog is another object, another key.
    """
    key = (what, *map(id, refs), *values)
    hit = _MEMO.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], refs, strict=True)):
        return hit[1]
    value = make()
    _read_only(value)
    if len(_MEMO) >= 1024:  # many catalogs built and dropped (tests): keep the cache small
        _MEMO.clear()
    _MEMO[key] = (refs, value)
    return value


def _read_only(value: Any, depth: int = 0) -> None:
    """Mark the arrays of ``value`` (a dataclass or tuple of them, two levels deep) read-only."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif depth < 2 and isinstance(value, tuple):
        for v in value:
            _read_only(v, depth + 1)
    elif depth < 2 and hasattr(value, "__dataclass_fields__"):
        for v in vars(value).values():
            _read_only(v, depth + 1)


@dataclass(frozen=True)
class Setup:
    """A scenario resolved against the catalogs: records, formats and the numbers the core uses."""

    scenario: Scenario
    model: Model
    accelerator: Accelerator
    shape: ModelShape
    hw: Hardware
    engine: EngineChoice
    precision: str
    kv_precision: str
    input_tokens: int
    output_tokens: int  # visible + reasoning: every token the model generates
    prefix_cache_hit_rate: float
    steps_per_task: float
    band: ErrorBand | None = None  # relative error band of the modelled figures

    @property
    def weight_bytes_per_param(self) -> float:
        return BYTES_PER_ELEMENT[self.precision]

    @property
    def kv_bytes_per_element(self) -> float:
        return BYTES_PER_ELEMENT[self.kv_precision]


def _default_precision(model: Model, acc: Accelerator) -> str:
    wanted = {
        "mxfp4": ["mxfp4", "fp8", "bf16"],
        "fp8": ["fp8", "bf16"],
        "int4": ["int4", "bf16"],  # weight-only INT4 checkpoints (Kimi K2 Thinking, K2.5)
    }.get(model.native_precision, ["bf16"])
    for p in wanted:
        try:
            peak_flops_per_s(acc, p)
            return p
        except ScenarioError:
            continue
    raise ScenarioError(f"precision: {acc.id} lists no matrix peak; give --precision explicitly")


def engine_kv_default(engine: EngineChoice, model: Model, acc: Accelerator, precision: str) -> str:
    """The KV format an engine uses for a checkpoint when told none.

    vLLM's ``--kv-cache-dtype auto`` stores the cache in the model's dtype (16 bits) whatever
    the weight format (``kv_default = model_dtype``); TensorRT-LLM's quantised checkpoints carry
    their KV format, FP8 with FP8 weights (``kv_default = weights``, the weight format's
    ``default_kv_precision`` in ``data/precisions.csv``).
    """
    if engine.record is not None and engine.record.kv_default == "model_dtype":
        return model.native_precision if model.native_precision in ("bf16", "fp16") else "bf16"
    return default_kv_precision(acc, precision)


LONG_CONTEXT_TOKENS = 8192
"""Context beyond which SGLang lowers its memory fraction on AMD's aiter attention backend
(``server_args.py``: ``if model_config.context_len > 8192``)."""


def _vendor_memory_default(engine: EngineChoice, model: Model, acc: Accelerator) -> EngineChoice:
    """The engine's default memory share where it depends on the vendor and the model: SGLang
    on AMD multiplies ``mem_fraction_static`` by ``amd_long_context_memory_factor`` (0.85) for a
    model whose context exceeds :data:`LONG_CONTEXT_TOKENS` (data/serving_software.csv)."""
    rec = engine.record
    factor = rec.amd_long_context_memory_factor if rec else None
    if (
        factor is None
        or acc.vendor.lower() != "amd"
        or model.max_context_tokens <= LONG_CONTEXT_TOKENS
    ):
        return engine
    eng = replace(engine.engine, memory_utilization=engine.engine.memory_utilization * factor)
    return replace(engine, engine=eng)


HETERO_ONLY = (
    "prefill_accelerator: this command evaluates one accelerator type's layout and batch grid "
    "(montecarlo and sensitivity sample it vectorised); a separate prefill pool on another "
    "accelerator is modelled by estimate, plan, breakeven and project (tokenfab.perf.hetero; "
    "roadmap, report and factory build on them); drop prefill_accelerator here"
)
"""The one line of every command that models one accelerator type, given a separate prefill
pool."""


MXFP4_EXPERT_KERNEL_BY_FAMILY = {"hopper": "triton_hopper", "ampere": "marlin", "ada": "marlin"}
"""The MoE kernel vLLM runs MXFP4 experts with, by accelerator family: Triton kernels from SM90
(Hopper), Marlin before (Ampere, Ada) (vllm-project/vllm@vllm/model_executor/layers/
quantization/mxfp4.py, ``get_mxfp4_backend``; "Using Triton backend" in the H100 log of
vllm-project/vllm#33155). Other families (Blackwell's FlashInfer kernels, AMD): layout not
known, the experts are counted as stored."""


def _loaded_shape(
    shape: ModelShape, model: Model, acc: Accelerator, engine: EngineChoice, precision: str
) -> ModelShape:
    """The shape with its routed experts as the engine loads them: an engine that pads MXFP4
    experts to its kernel's layout (``pads_mxfp4_experts``) holds
    :func:`~tokenfab.perf.memory.mxfp4_expert_loaded_bytes` an expert instead of the stored
    4.25 bits a parameter (gpt-oss-120b on H100 under vLLM: 14,030,080 B instead of
    13,223,790 B, 3.46 GiB more in all)."""
    kernel = MXFP4_EXPERT_KERNEL_BY_FAMILY.get(acc.family)
    rec = engine.record
    if (
        precision != "mxfp4"
        or kernel is None
        or rec is None
        or not rec.pads_mxfp4_experts
        or not model.num_experts
    ):
        return shape
    inter = model.moe_intermediate_size or model.intermediate_size
    loaded = mxfp4_expert_loaded_bytes(model.hidden_size, inter, kernel, model.ffn_bias)
    stored = float(shape.params_expert) * BYTES_PER_ELEMENT["mxfp4"]
    return replace(shape, expert_load_scale=np.asarray(loaded / stored))


def resolve(scenario: Scenario, catalog: Catalog | None = None) -> Setup:
    """Look up the scenario's ids and fill the defaults it leaves open."""
    scenario = Scenario.parse(scenario)  # a mapping is validated; anything else: ScenarioError
    if scenario.prefill_accelerator is not None:
        raise ScenarioError(HETERO_ONLY)
    cat = catalog or default_catalog()
    model = cat.model(scenario.model)
    acc = cat.accelerator(scenario.accelerator)
    work = cat.workload(scenario.workload) if scenario.workload else None
    given = (
        scenario.precision,
        scenario.software,
        scenario.gpu_memory_utilization,
        scenario.kv_precision,
        scenario.fp8_scales,
    )
    refs = (cat, model, acc, *(cat.table(t) for t in ENGINE_TABLES))
    precision, engine, kv, shape, hw, band = _memo(
        "resolve", refs, given, lambda: _from_records(cat, model, acc, *given)
    )
    i = scenario.input_tokens or (work.input_tokens if work else DEFAULT_INPUT_TOKENS)
    o = scenario.output_tokens or (work.output_tokens if work else DEFAULT_OUTPUT_TOKENS)
    r = (
        scenario.reasoning_tokens
        if scenario.reasoning_tokens is not None
        else (work.reasoning_tokens if work else 0)
    )
    hit = scenario.prefix_cache_hit_rate
    if hit is None:
        hit = (work.prefix_cache_hit_rate or 0.0) if work else 0.0
    steps = scenario.steps_per_task or (work.steps_per_task if work else 1.0)
    if i + o + r > model.max_context_tokens:
        raise ScenarioError(context_error(model.id, model.max_context_tokens, i, o, r))
    return Setup(scenario, model, acc, shape, hw, engine, precision, kv, i, o + r, hit, steps, band)


def _from_records(
    cat: Catalog,
    model: Model,
    acc: Accelerator,
    precision: str | None,
    software: str | None,
    gpu_memory_utilization: float | None,
    kv_precision: str | None,
    fp8_scales: str | None = None,
) -> tuple[str, EngineChoice, str, ModelShape, Hardware, ErrorBand | None]:
    """What :func:`resolve` takes from the catalog rows alone: the weight format, the engine,
    the KV format, the model's shape, the accelerator's peaks and the error band.

    ``fp8_scales`` (``block``, ``per_tensor``; None: the published checkpoint's) says whether
    FP8 weights carry block scales; a default precision other than fp8 ignores it."""
    precision = precision or _default_precision(model, acc)
    peak_flops_per_s(acc, precision)  # unsupported format: clear error
    block = block_scaled_fp8(
        model, precision, None if fp8_scales is None else fp8_scales == "block"
    )
    engine = choose_engine(cat, acc, software, gpu_memory_utilization, precision, block)
    if gpu_memory_utilization is None:
        engine = _vendor_memory_default(engine, model, acc)
    kv = kv_precision or engine_kv_default(engine, model, acc, precision)
    check_kv_precision(acc, kv, as_storage=bool(engine.record and engine.record.fp8_kv_as_storage))
    shape = _loaded_shape(ModelShape.from_record(model, precision), model, acc, engine, precision)
    band = error_band(cat, engine, model.id)
    return precision, engine, kv, shape, hardware(acc, precision), band


def context_error(model_id: str, context_tokens: int, i: int, o: int, r: int) -> str:
    """The line for a request longer than the model's context, naming the field that is out of
    range: the one that alone exceeds the context, else every token field of the sum.

    Examples
    --------
    >>> context_error("llama-3.1-8b", 131072, 1000, 100_000_000, 0)  # doctest: +NORMALIZE_WHITESPACE
    "output_tokens: 1,000 input + 100,000,000 output tokens exceed llama-3.1-8b's context of
    131,072 tokens; allowed: a total up to 131,072"
    """
    fields = [("input_tokens", i, "input"), ("output_tokens", o, "output")]
    if r:
        fields.append(("reasoning_tokens", r, "reasoning"))
    alone = [name for name, n, _ in fields if n > context_tokens]
    field = alone[0] if len(alone) == 1 else " + ".join(name for name, _, _ in fields)
    parts = " + ".join(f"{n:,} {word}" for _, n, word in fields)
    return (
        f"{field}: {parts} tokens exceed {model_id}'s context of {context_tokens:,} tokens; "
        f"allowed: a total up to {context_tokens:,}"
    )


def _powers_of_two(limit: int) -> list[int]:
    return [2**k for k in range(int(math.log2(max(limit, 1))) + 1)]


def layout_problem(
    setup: Setup,
    tp: int,
    pp: int,
    ep: int,
    adp: int,
    moe_tp: int | None = None,
    accelerators: int | None = None,
) -> str | None:
    """Why the scenario's engine cannot run a layout, as one line naming the field; ``None``
    when it can.

    Rules, each from the engine's code (``layout_source`` in ``data/serving_software.csv``):

    * tensor parallelism divides the attention heads (vLLM ``verify_with_parallel_config``;
      TensorRT-LLM ``Attention``: ``num_heads % tp_size == 0``);
    * KV heads: vLLM splits them evenly when there are at least as many as TP ranks and
      replicates them when TP is a multiple of them (``QKVParallelLinear``); TensorRT-LLM gives
      each rank ``ceil(n_kv / tp)`` (rule ``ceil``, no constraint);
    * expert parallelism needs routed experts, at most one rank per expert, and -- for an
      engine without ``expert_parallel_uneven`` (TensorRT-LLM asserts ``num_experts % ep_size
      == 0``) -- an even split; it divides the ranks of a stage, the rest being MoE tensor
      parallelism, which divides each expert's width;
    * pipeline stages number at most the layers;
    * a replica beyond one scale-up domain needs the accelerator's scale-out bandwidth.
    """
    m, acc = setup.model, setup.accelerator
    rec = setup.engine.record
    name = setup.engine.software
    rule = rec.kv_head_rule if rec else "divide_or_replicate"
    uneven = rec.expert_parallel_uneven if rec else True
    if m.num_attention_heads % tp:
        return (
            f"tensor_parallel: {tp} does not divide {m.id}'s {m.num_attention_heads} attention "
            f"heads ({name} needs num_attention_heads % tensor_parallel == 0)"
        )
    kv = m.num_kv_heads
    if m.attention != "mla" and rule == "divide_or_replicate":
        if kv >= tp and kv % tp:
            return (
                f"tensor_parallel: {tp} does not divide {m.id}'s {kv} KV heads ({name} splits "
                f"KV heads evenly, or replicates them when tensor_parallel is a multiple of them)"
            )
        if kv < tp and tp % kv:
            return (
                f"tensor_parallel: {tp} is not a multiple of {m.id}'s {kv} KV heads ({name} "
                f"replicates KV heads only when tensor_parallel is a multiple of them)"
            )
    if ep > 1 and m.kind != "moe":
        return f"expert_parallel: {m.id} is dense; expert parallelism needs routed experts (use 1)"
    if ep > 1 and ep > m.num_experts:
        return f"expert_parallel: {ep} exceeds {m.id}'s {m.num_experts} routed experts"
    if ep > 1 and m.num_experts % ep and not uneven:
        return (
            f"expert_parallel: {ep} does not divide {m.id}'s {m.num_experts} routed experts; "
            f"{name} needs an even split (allowed: divisors of {m.num_experts})"
        )
    ranks = tp * adp
    if ranks % ep:
        return (
            f"expert_parallel: {ep} does not divide the {ranks} ranks of a stage "
            f"(tensor_parallel {tp} x attention_data_parallel {adp})"
        )
    if moe_tp is not None and moe_tp * ep != ranks:
        return (
            f"moe_tensor_parallel: {moe_tp} x expert_parallel {ep} must equal the {ranks} ranks "
            f"of a stage (tensor_parallel {tp} x attention_data_parallel {adp})"
        )
    width = m.moe_intermediate_size
    if m.kind == "moe" and width and width % (ranks // ep):
        return f"moe_tensor_parallel: {ranks // ep} does not divide {m.id}'s expert width {width}"
    if pp > m.num_layers:
        return f"pipeline_parallel: {pp} stages exceed {m.id}'s {m.num_layers} layers"
    size = pp * ranks
    domain = acc.scaleup_domain_size or 1
    if size > domain and acc.scaleout_bandwidth_gb_s is None:
        return (
            f"accelerators: a replica of {size} x {acc.id} spans more than one scale-up domain of "
            f"{domain}, and {acc.id}'s scale-out bandwidth is {acc.scaleout_source or 'not public'}; "
            f"keep replicas within {domain}"
        )
    if accelerators is not None and (size > accelerators or accelerators % size):
        return (
            f"accelerators: a replica of {size} (pipeline {pp} x tensor {tp} x attention data "
            f"{adp}) does not divide the {accelerators} accelerators"
        )
    return None


def candidate_layouts(
    setup: Setup,
    accelerators: int,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    adp: int | None = None,
    moe_tp: int | None = None,
) -> Layout:
    """Every layout the engine can run whose replica divides ``accelerators``.

    Degrees given are kept; the others are searched over powers of two: tensor parallelism up
    to ``max(domain, 16)`` ranks (SGLang serves DeepSeek-V3 with TP16 over two 8-GPU nodes),
    expert parallelism up to the routed experts, pipeline stages up to 64 and the layers.
    Without ``attention_data_parallel`` a stage spans ``max(tp, ep)`` ranks (vLLM's EP = TP x
    DP); an ``ep`` below ``tp`` (MoE tensor parallelism over the rest of the ranks) is a
    candidate only where ``ep`` or ``moe_tp`` is given. Replicas may span several scale-up
    domains where the accelerator's scale-out bandwidth is known. Each layout is checked by
    :func:`layout_problem`.

    Raises
    ------
    ScenarioError
        When no layout is left; with every degree given, the one-line reason of
        :func:`layout_problem`.
    """
    refs = (setup.model, setup.accelerator, setup.engine.record)
    values = (setup.engine.software, accelerators, tp, pp, ep, adp, moe_tp)
    return _memo(
        "layouts",
        refs,
        values,
        lambda: _candidate_layouts(setup, accelerators, tp, pp, ep, adp, moe_tp),
    )


def _candidate_layouts(
    setup: Setup,
    accelerators: int,
    tp: int | None,
    pp: int | None,
    ep: int | None,
    adp: int | None,
    moe_tp: int | None,
) -> Layout:
    m, acc = setup.model, setup.accelerator
    domain = acc.scaleup_domain_size or 1
    tps = [tp] if tp else _powers_of_two(min(accelerators, max(domain, 16)))
    pps = [pp] if pp else [p for p in _powers_of_two(min(accelerators, 64)) if p <= m.num_layers]
    if ep:
        eps = [ep]
    elif moe_tp and tp and adp:
        eps = [tp * adp // moe_tp] if (tp * adp) % moe_tp == 0 else [0]
    elif m.kind == "moe":
        eps = _powers_of_two(min(accelerators, m.num_experts))
    else:
        eps = [1]
    # an expert-parallel degree below the tensor-parallel one (the rest of a stage's ranks MoE
    # tensor parallelism, as TensorRT-LLM's moe_ep_size x moe_tp_size = tp and SGLang's
    # --ep-size < --tp) is searched only where the user names ep or moe_tp; named, it is
    # checked and refused with its own reason, never left out unsearched
    named = bool(ep or moe_tp)
    rows = []
    first: str | None = None
    for t in tps:
        for p in pps:
            for e in eps:
                if e < 1:
                    continue
                a = adp or (max(t, e) // t if e % t == 0 or e == 1 else (1 if named else 0))
                if a < 1:
                    continue
                problem = layout_problem(setup, t, p, e, a, moe_tp, accelerators)
                if problem is None:
                    rows.append((t, p, e, a))
                elif first is None:
                    first = problem
    if not rows:
        if first and (tp or pp or ep or adp or moe_tp):
            raise ScenarioError(first)
        raise ScenarioError(
            f"tensor_parallel: no layout of {accelerators} x {acc.id} that {setup.engine.software} "
            f"can run with tp={tp or 'any'}, pp={pp or 'any'}, ep={ep or 'any'}, "
            f"attention_data_parallel={adp or 'any'} ({first or 'none searched'})"
        )
    arr = np.array(rows, dtype=float)
    return layout(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


def scenario_layouts(setup: Setup, accelerators: int) -> Layout:
    """:func:`candidate_layouts` with the degrees the scenario fixes."""
    s = setup.scenario
    lay = candidate_layouts(
        setup,
        accelerators,
        s.tensor_parallel,
        s.pipeline_parallel,
        s.expert_parallel,
        s.attention_data_parallel,
        s.moe_tensor_parallel,
    )
    if not s.disaggregated:
        return lay
    # DistServe / Dynamo: a prefill pool and a decode pool, each at least one replica
    two = accelerators // lay.accelerators >= 2
    if not np.any(two):
        raise ScenarioError(
            f"disaggregated: a prefill and a decode pool need at least 2 replicas; the smallest "
            f"replica {setup.engine.software} can run here spans {int(np.min(lay.accelerators))} "
            f"of the {accelerators} accelerators"
        )
    return lay.row(two)


def _args(setup: Setup) -> tuple[Any, ...]:
    return (setup.shape, setup.hw, setup.engine.engine)


def max_batches(setup: Setup, lay: Layout, memory: bool = False) -> NDArray:
    """Largest batch of each layout (0 where the model does not fit).

    ``memory``: take the KV budget from :func:`_memory_per_accelerator` (a setup of
    :func:`resolve` and layouts of :func:`candidate_layouts`, shared by many estimates)."""
    hit = setup.prefix_cache_hit_rate
    return max_batch_size(
        *_args(setup),
        lay,
        setup.weight_bytes_per_param,
        setup.kv_bytes_per_element,
        setup.input_tokens,
        setup.output_tokens,
        setup.input_tokens * (1 - hit),
        _memory_per_accelerator(setup, lay)[1] if memory else None,
    )


def minimum_accelerators(setup: Setup, limit: int = 4096) -> int | None:
    """Fewest accelerators any layout needs to hold the model and one sequence."""
    for n in _powers_of_two(limit):
        try:
            lay = candidate_layouts(setup, n)
        except ScenarioError:
            continue
        if np.any(max_batches(setup, lay) >= 1):
            return n
    return None


def _raise_does_not_fit(setup: Setup, accelerators: int) -> None:
    need = minimum_accelerators(setup)
    w = float(weight_bytes(setup.shape, setup.weight_bytes_per_param)) / 1e9
    kv = (
        float(
            kv_bytes_per_sequence(
                setup.shape, setup.input_tokens + setup.output_tokens, setup.kv_bytes_per_element
            )
        )
        / 1e9
    )
    acc = setup.accelerator
    if need is None and acc.scaleout_bandwidth_gb_s is None:
        raise InfeasibleError(
            f"accelerators: {setup.model.id} in {setup.precision} ({w:.0f} GB of weights) does not "
            f"fit in one scale-up domain of {acc.scaleup_domain_size or 1} x {acc.id}, and layouts "
            f"across domains need its scale-out bandwidth, which is "
            f"{acc.scaleout_source or 'not public'}; got {accelerators}"
        )
    # the memory an engine may fill: the catalogued memory x the visible share x its
    # gpu_memory_utilization (at TP 1), less its runtime reserve -- the figure a low
    # --gpu-memory-utilization shrinks, so a line on it names that field
    u = float(memory_utilization_at_tp(setup.engine.engine, 1))
    reserve = float(
        runtime_reserve_bytes(
            setup.shape, setup.engine.engine, layout(), setup.weight_bytes_per_param
        )
    )
    usable = setup.hw.memory_bytes * VISIBLE_MEMORY_SHARE * u / 1e9
    memory = (
        f"{capacity_label(acc.memory_gb)} each, {usable:.3g} GB usable at "
        f"gpu_memory_utilization {u:g}, "
        f"less a {reserve / 1e9:.2g} GB runtime reserve at TP 1"
    )
    what = f"{setup.model.id} in {setup.precision} ({w:.0f} GB of weights, {kv:.2f} GB of KV a sequence)"
    if setup.scenario.gpu_memory_utilization is None and need:  # the engine's own share
        memory = f"{capacity_label(acc.memory_gb)} each"
    if need and need <= accelerators:
        # enough accelerators, but no replica of them holds the model: the fixed degrees keep
        # a replica small, or the count splits only into small replicas (degrees are searched
        # over powers of two, so 3 x h100-sxm is three replicas of 1). "needs at least 2; got
        # 3" once said so, which reads as a contradiction
        s = setup.scenario
        fixed = [
            f"{name} {value}"
            for name, value in (
                ("tensor_parallel", s.tensor_parallel),
                ("pipeline_parallel", s.pipeline_parallel),
                ("attention_data_parallel", s.attention_data_parallel),
            )
            if value is not None
        ]
        if fixed:
            raise InfeasibleError(
                f"{fixed[0].split()[0]}: {what} needs a replica of at least {need} x {acc.id} "
                f"({memory}); with {', '.join(fixed)} no replica of the {accelerators} "
                f"accelerators is that large; drop or raise {' or '.join(f.split()[0] for f in fixed)}"
            )
        raise InfeasibleError(
            f"accelerators: {what} needs a replica of at least {need} x {acc.id} ({memory}); "
            f"{accelerators} does not split into replicas that large (parallel degrees are "
            f"powers of two); allowed: a multiple of {need}"
        )
    if need:
        raise InfeasibleError(
            f"accelerators: {what} needs at least {need} x {acc.id} ({memory}); got {accelerators}"
        )
    field = (
        "gpu_memory_utilization"
        if setup.scenario.gpu_memory_utilization is not None
        else "accelerators"
    )
    raise InfeasibleError(
        f"{field}: {what} does not fit on any number of {acc.id} ({memory}); "
        + (
            "raise gpu_memory_utilization (allowed: above 0 to 1)"
            if field == "gpu_memory_utilization"
            else f"got {accelerators}"
        )
    )


@dataclass(frozen=True)
class Grid:
    """All layouts (axis 0) at all batch sizes (axis 1), with the roofline alongside."""

    layouts: Layout
    batch: NDArray
    valid: NDArray
    max_batch: NDArray
    tpot_s: NDArray
    ttft_service_s: NDArray
    output_tok_s_replica: NDArray
    prefill_tok_s_replica: NDArray  # uncached prompt tokens computed per second
    prefill_time_share: NDArray
    memory_bound: NDArray
    roofline_output_tok_s_replica: NDArray
    roofline_tpot_s: NDArray
    hbm_busy_share: NDArray  # activity of memory and matrix units, for the power model
    compute_busy_share: NDArray

    @property
    def accelerators_per_replica(self) -> NDArray:
        return self.layouts.accelerators[:, None] * np.ones_like(self.batch)

    @property
    def output_tok_s_per_accelerator(self) -> NDArray:
        return self.output_tok_s_replica / self.accelerators_per_replica


def batch_grid(
    max_batch: NDArray, points: int = BATCH_GRID_POINTS, top: float | None = None
) -> NDArray:
    """Log-spaced batch sizes from 1 to each layout's maximum, the maximum itself last.

    ``max_batch`` has a layout axis last, and any leading axes (samples); the batches are a
    new last axis. The log grid ends at the largest of ``max_batch``, or at ``top`` where
    given (the largest batch of a wider set of layouts, whose grid these rows are part of).
    """
    end = float(np.max(max_batch)) if top is None else float(top)
    base = _log_batches(max(end, 1.0), points)
    grid = np.broadcast_to(base, (*np.shape(max_batch), base.size))
    return np.concatenate([grid, np.maximum(max_batch, 1.0)[..., None]], axis=-1)


@functools.lru_cache(maxsize=1024)
def _log_batches(top: float, points: int) -> NDArray:
    """:func:`batch_grid`'s shared log grid from 1 to ``top`` (read-only: every grid with that
    largest batch uses it)."""
    base = np.unique(np.round(np.logspace(0, np.log10(top), points)))
    base.flags.writeable = False
    return base


def _sample_axis(setup: Setup, extra: int) -> Setup:
    """The setup with ``extra`` trailing axes on its 1-D hardware and engine arrays (a sample
    axis), so that they broadcast ahead of the layout (and batch) axes of a grid."""

    def grow(obj: Any) -> Any:
        return replace(
            obj,
            **{
                k: np.reshape(v, (*np.shape(v), *(1,) * extra))
                for k, v in vars(obj).items()
                if np.ndim(v) == 1
            },
        )

    return replace(
        setup, hw=grow(setup.hw), engine=replace(setup.engine, engine=grow(setup.engine.engine))
    )


def _samples(setup: Setup) -> int:
    """Length of the sample axis of the hardware and engine arrays (0: none)."""
    sizes = [
        np.size(v)
        for obj in (setup.hw, setup.engine.engine)
        for v in vars(obj).values()
        if np.ndim(v) >= 1
    ]
    return max(sizes, default=0)


def speculation(scenario: Scenario) -> dict[str, float]:
    """Speculative-decoding arguments of the serving functions for a scenario."""
    return {
        "speculative_tokens": float(scenario.speculative_tokens),
        "acceptance_rate": float(scenario.acceptance_rate or 0.0),
    }


def _with_roofline(eng: Engine) -> Engine:
    """The engine with a leading axis of two: index 0 the engine, 1 its roofline.

    Every field that roofline() sets gains shape (2, 1, 1), ahead of a grid's layout and batch axes;
    the others stay as they are. One vectorised call then evaluates both (the per-call cost of
    the serving functions, not their element count, dominates a single estimate).
    """
    roof = vars(eng.roofline())
    stacked = {
        name: np.stack([np.asarray(value, float), np.asarray(roof[name], float)])[:, None, None]
        for name, value in vars(eng).items()
        if roof[name] is not value  # roofline() passes the fields it keeps on as they are
    }
    return replace(eng, **stacked)


def _take(st: SteadyState, k: int, ndim: int) -> SteadyState:
    """Entry ``k`` of the leading axis of :func:`_with_roofline`'s state (a field without
    that axis, ``ndim`` dimensions or fewer, does not depend on the engine)."""
    return SteadyState(
        **{f.name: v[k] if np.ndim(v := getattr(st, f.name)) > ndim else v for f in fields(st)}
    )


def evaluate_grid(
    setup: Setup, lay: Layout, batch: NDArray | None = None, max_batch: NDArray | None = None
) -> Grid:
    """Evaluate every layout at every batch size in one vectorised call.

    Hardware and engine arrays of one axis (samples: ``tokenfab.pipeline``, a Monte Carlo of
    bandwidths) give grids of shape (samples, layouts, batches); the batch grid then spans the
    largest batch of any sample, and each sample's own largest batch closes its rows.
    ``max_batch``: :func:`max_batches` of ``setup`` and ``lay`` where the caller has it already
    (no samples). ``batch``: the batches of every layout (1-D), or of each (2-D, a row a
    layout); default :func:`batch_grid`.
    """
    sampled = _samples(setup)
    if max_batch is not None and not sampled:
        bmax = max_batch
    else:
        bmax = max_batches(_sample_axis(setup, 1) if sampled else setup, lay)
    if sampled:  # every sample its row, whether or not its memory differs
        bmax = np.broadcast_to(bmax, (sampled, lay.tensor_parallel.size))
    if batch is None:
        b = batch_grid(bmax)
    elif np.ndim(batch) == 2:  # batches of each layout, shape (layouts, batches)
        b = np.broadcast_to(np.asarray(batch, dtype=float), (*bmax.shape, np.shape(batch)[-1]))
    else:
        b = np.broadcast_to(np.asarray(batch, dtype=float), (*bmax.shape, np.size(batch)))
    if sampled:
        setup = _sample_axis(setup, 2)
    col = lay.column()
    common = (setup.weight_bytes_per_param, setup.kv_bytes_per_element)
    kw = dict(
        batch_size=b,
        input_tokens=setup.input_tokens,
        output_tokens=setup.output_tokens,
        prefix_cache_hit_rate=setup.prefix_cache_hit_rate,
        **speculation(setup.scenario),
    )
    state = disaggregated_state if setup.scenario.disaggregated else steady_state
    eng = setup.engine.engine
    if sampled:
        st = state(*_args(setup), col, *common, **kw)
        roof = state(setup.shape, setup.hw, eng.roofline(), col, *common, **kw)
    else:  # the engine and its roofline side by side on a leading axis: one call, not two
        both_eng = _memo("roofline", (eng,), (), lambda: _with_roofline(eng))
        both = state(setup.shape, setup.hw, both_eng, col, *common, **kw)
        st, roof = (_take(both, k, b.ndim) for k in (0, 1))
    valid = (b <= bmax[..., None]) & (bmax[..., None] >= 1)
    return Grid(
        lay,
        b,
        valid,
        bmax,
        st.tpot_s,
        st.ttft_service_s,
        st.output_tok_s,
        st.prefill_tok_s,
        st.prefill_time_share,
        st.memory_bound,
        roof.output_tok_s,
        roof.tpot_s,
        st.hbm_busy_share,
        st.compute_busy_share,
    )


@dataclass(frozen=True)
class GridPoint:
    """The chosen point of a grid as the grid computed it for one replica, unrounded and
    unscaled: its :class:`SteadyState`, its roofline throughput and the layout's largest batch.

    The calculator's numbers come from the vectorised pipeline's one sample
    (:func:`tokenfab.pipeline.estimate_result`), whose steady state is this point's: the same
    functions of the same inputs, element by element the same numbers
    (``tests/test_pipeline.py`` holds them equal bit for bit), so it takes them from here
    instead of computing the point a second time.
    """

    state: SteadyState  # each field one number
    roofline_output_tok_s: float  # a replica's output tok/s with every efficiency 1
    max_batch: float  # the layout's largest batch (memory and the engine's limits)
    # a replica's output tok/s at the layout's valid batch of most throughput on the grid (the
    # service rate a demand queues for); the first batch where none is valid
    top_output_tok_s: float


@dataclass(frozen=True)
class OperatingPoint:
    """The chosen operating point of a deployment, with the roofline and the memory budget."""

    setup: Setup
    accelerators: int
    tensor_parallel: int
    pipeline_parallel: int
    expert_parallel: int
    attention_data_parallel: int
    moe_tensor_parallel: int
    replicas: int
    prefill_replicas: int  # disaggregated: replicas in the prefill pool (0 when not split)
    decode_replicas: int  # disaggregated: replicas in the decode pool (0 when not split)
    batch_size: int
    max_batch_size: int
    ttft_s: float
    queue_wait_s: float
    tpot_s: float
    output_tok_s_total: float
    prefill_tok_s_total: float  # uncached prompt tokens computed per second
    roofline_output_tok_s_total: float
    prefill_time_share: float
    bound: str
    weights_gb_per_accelerator: float
    kv_gb_per_accelerator: float
    reserve_gb_per_accelerator: float
    requests_per_second: float
    hbm_busy_share: float = 0.0  # share of serving time memory streams at peak (power model)
    compute_busy_share: float = 0.0  # share of serving time matrix units run at peak
    grid_point: GridPoint | None = field(default=None, compare=False, repr=False)

    @property
    def output_tok_s_per_accelerator(self) -> float:
        return self.output_tok_s_total / self.accelerators

    @property
    def input_tok_s_total(self) -> float:
        """Prompt tokens *served* per second, prefix-cache hits included [token/s].

        Every request brings ``input_tokens`` prompt tokens per ``output_tokens``; only the
        uncached share is computed (:attr:`prefill_tok_s_total`).
        """
        return self.output_tok_s_total * self.setup.input_tokens / self.setup.output_tokens

    @property
    def output_tok_s_per_user(self) -> float:
        return 1.0 / self.tpot_s

    @property
    def request_latency_s(self) -> float:
        return self.ttft_s + (self.setup.output_tokens - 1) * self.tpot_s

    def as_dict(self) -> dict[str, Any]:
        """Flat record with units in the keys (the ``estimate --json`` object)."""
        s = self.setup
        return {
            "model": s.model.id,
            "accelerator": s.accelerator.id,
            "accelerators": self.accelerators,
            "tensor_parallel": self.tensor_parallel,
            "pipeline_parallel": self.pipeline_parallel,
            "expert_parallel": self.expert_parallel,
            "attention_data_parallel": self.attention_data_parallel,
            "moe_tensor_parallel": self.moe_tensor_parallel,
            "replicas": self.replicas,
            "prefill_replicas": self.prefill_replicas,
            "decode_replicas": self.decode_replicas,
            "precision": s.precision,
            "kv_precision": s.kv_precision,
            "software": s.engine.software,
            "calibrated": s.engine.calibrated,
            "calibration_basis": s.engine.basis,
            "batch_size": self.batch_size,
            "max_batch_size": self.max_batch_size,
            "input_tokens": s.input_tokens,
            "output_tokens": s.output_tokens,
            "input_tok_s": self.input_tok_s_total,
            "prefill_tok_s": self.prefill_tok_s_total,
            "prefix_cache_hit_rate": s.prefix_cache_hit_rate,
            "output_tok_s_total": self.output_tok_s_total,
            "output_tok_s_per_accelerator": self.output_tok_s_per_accelerator,
            "output_tok_s_per_user": self.output_tok_s_per_user,
            "ttft_s": self.ttft_s,
            "queue_wait_s": self.queue_wait_s,
            "tpot_s": self.tpot_s,
            "request_latency_s": self.request_latency_s,
            "requests_per_second": self.requests_per_second,
            "roofline_output_tok_s_total": self.roofline_output_tok_s_total,
            "roofline_fraction": self.output_tok_s_total / self.roofline_output_tok_s_total,
            "bound": self.bound,
            "hbm_busy_share": self.hbm_busy_share,
            "compute_busy_share": self.compute_busy_share,
            "prefill_time_share": self.prefill_time_share,
            "weights_gb_per_accelerator": self.weights_gb_per_accelerator,
            "kv_gb_per_accelerator": self.kv_gb_per_accelerator,
            "reserve_gb_per_accelerator": self.reserve_gb_per_accelerator,
            **self.error_band_keys(),
        }

    def error_band_keys(self) -> dict[str, Any]:
        """``<figure>_low`` / ``<figure>_high`` of TTFT, TPOT and output throughput from the
        held-out residuals (``data/error_bands.csv``), the split they come from, the share
        of held-out runs such a band enclosed, the catalog folder its rows come from and the
        line saying where the band does not describe the factors (a user calibration that
        wrote no band); nulls where the catalog has no band. Under
        closed-loop clients (``concurrency``) TTFT takes the ``ttft_s_concurrent`` band."""
        band = self.setup.band
        # TTFT under closed-loop clients has its own band (its residuals are mostly queueing)
        closed = self.setup.scenario.concurrency is not None
        shown = ("ttft_s_concurrent" if closed else "ttft_s", "tpot_s", "output_tok_s")
        out: dict[str, Any] = {
            "error_band_basis": band.basis if band else None,
            "error_band_coverage": band.coverage if band else None,
            "error_band_source": band.source(shown) if band else None,
            "error_band_note": band.note(shown) if band else None,
        }
        for key, metric, value in (
            ("ttft_s", "ttft_s_concurrent" if closed else "ttft_s", self.ttft_s),
            ("tpot_s", "tpot_s", self.tpot_s),
            ("output_tok_s_total", "output_tok_s", self.output_tok_s_total),
        ):
            low, high = band.bounds(metric, value) if band else (None, None)
            out[f"{key}_low"], out[f"{key}_high"] = low, high
        return out


def choose(
    setup: Setup, grid: Grid, scenario: Scenario, closed_loop_ttft_s: NDArray | None = None
) -> tuple[int, int, float]:
    """Index (layout, batch) of the chosen point of a deployment without a demand, and its
    queueing wait [s].

    ``closed_loop_ttft_s``: the TTFT of every grid point under the scenario's closed-loop
    clients (:func:`closed_loop`), which then replaces the prompt's own time. A demand is
    :mod:`tokenfab.sizing`'s to place (:func:`estimate`).
    """
    # TTFT is the prompt's own time, whether or not a target is set, unless closed-loop
    # clients add a wait
    wait = np.zeros(grid.valid.shape)
    ttft = grid.ttft_service_s
    if closed_loop_ttft_s is not None:
        ttft = np.maximum(closed_loop_ttft_s, grid.ttft_service_s)
        wait = ttft - grid.ttft_service_s
    ok = grid.valid.copy()
    tpot_ok = grid.tpot_s <= (scenario.tpot_slo_s or np.inf)
    ttft_ok = ttft <= (scenario.ttft_slo_s or np.inf)
    if not (ok & tpot_ok & ttft_ok).any():
        raise_missed_targets(scenario, grid.tpot_s, ttft, ok, tpot_ok, ttft_ok)
    ok &= tpot_ok & ttft_ok
    if scenario.objective == "min-latency":
        latency = ttft + (setup.output_tokens - 1) * grid.tpot_s
        score = np.where(ok, -latency, -np.inf)
    else:
        score = np.where(ok, grid.output_tok_s_per_accelerator, -np.inf)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(i), int(j), float(wait[i, j])


def raise_missed_targets(
    scenario: Scenario,
    tpot_s: NDArray,
    ttft_s: NDArray,
    ok: NDArray,
    tpot_ok: NDArray,
    ttft_ok: NDArray,
) -> None:
    """Name the latency target(s) no point meets, with the best value each can reach here.

    ``tpot_s``, ``ttft_s``: every candidate point's TPOT and TTFT [s]; ``ok``: the candidates
    (points that run, and carry the load where there is one); ``tpot_ok``, ``ttft_ok``: which
    meet each target.

    Raises
    ------
    InfeasibleError
        Always: ``tpot_slo_s: no operating point reaches TPOT <= ... (best here ...)``, the
        same for TTFT, or both targets named when each alone is reachable.
    """
    best_tpot = float(np.min(np.where(ok, tpot_s, np.inf)))
    best_ttft = float(np.min(np.where(ok, ttft_s, np.inf)))
    missed = []
    if not (ok & tpot_ok).any():
        missed.append(
            f"tpot_slo_s: no operating point reaches TPOT <= {scenario.tpot_slo_s * 1e3:.3g} ms "
            f"(best here {best_tpot * 1e3:.1f} ms)"
        )
    if not (ok & ttft_ok).any():
        missed.append(
            f"ttft_slo_s: no operating point reaches TTFT <= {scenario.ttft_slo_s:.3g} s "
            f"(best here {best_ttft:.3g} s)"
        )
    if not missed:  # each alone is reachable, not both at once
        missed.append(
            f"ttft_slo_s: no operating point meets TTFT <= {scenario.ttft_slo_s:.3g} s and TPOT "
            f"<= {scenario.tpot_slo_s * 1e3:.3g} ms together (best here: TTFT {best_ttft:.3g} s, "
            f"TPOT {best_tpot * 1e3:.1f} ms, not at one point)"
        )
    raise InfeasibleError("; ".join(missed) + "; relax the target or change the hardware")


def with_workload_targets(scenario: Scenario, catalog: Catalog) -> Scenario:
    """The scenario with its workload's latency targets where it sets none itself."""
    if scenario.workload is None:
        return scenario
    work = catalog.workload(scenario.workload)
    changes = {
        k: getattr(work, k)
        for k in ("ttft_slo_s", "tpot_slo_s")
        if getattr(scenario, k) is None and getattr(work, k) is not None
    }
    return scenario.with_(**changes) if changes else scenario


def estimate(scenario: Scenario, catalog: Catalog | None = None) -> OperatingPoint:
    """The operating point of a scenario.

    Without a demand: ``scenario.accelerators`` (default 1) in the layout and at the batch of
    most output per accelerator within the latency targets (``objective`` min-latency: the
    shortest request), or the batch closed-loop clients (``concurrency``) set. With a demand
    (``tokens_per_day`` or ``requests_per_second``) the point is the deployment's that
    :func:`tokenfab.planning.operating_point` gives, whichever entry point asks: the cheapest
    one carrying the demand's peak within the targets (:mod:`tokenfab.sizing`), of
    ``scenario.accelerators`` where it is given.

    Raises
    ------
    InfeasibleError
        The model does not fit, or no point meets the latency targets or the load.
    ScenarioError
        An inconsistent scenario (e.g. a layout that does not divide the accelerator count).

    Examples
    --------
    >>> op = estimate(Scenario(model="llama-3.1-8b", accelerator="h100-sxm", batch_size=1))
    >>> op.bound
    'memory'
    """
    if scenario.tokens_per_day is not None or scenario.requests_per_second is not None:
        # a demand is placed by cost, which the performance model alone cannot rank: one
        # search for every entry point (a second one here once chose another layout and batch
        # for the same fleet and demand, up to 24 % apart in $/Mtok)
        from tokenfab.planning import operating_point

        return operating_point(scenario, catalog or default_catalog())
    scenario = with_workload_targets(scenario, catalog or default_catalog())
    setup = resolve(scenario, catalog)
    n = scenario.accelerators or 1
    lay = scenario_layouts(setup, n)
    bmax = max_batches(setup, lay, memory=True)
    if not np.any(bmax >= 1):
        _raise_does_not_fit(setup, n)
    if scenario.concurrency is not None:
        grid, ttft = closed_loop(setup, lay, scenario.concurrency, n)
        i, j, wait = choose(setup, grid, scenario, ttft)
        return _point(setup, grid, i, j, wait, n)
    if scenario.batch_size is not None:
        if not np.any(bmax >= scenario.batch_size):
            raise InfeasibleError(
                f"batch_size: {scenario.batch_size} sequences do not fit; at most "
                f"{int(np.max(bmax))} fit in memory and the engine's limits here"
            )
        grid = evaluate_grid(setup, lay, np.array([float(scenario.batch_size)]), bmax)
    elif scenario.objective == "min-latency":
        grid = evaluate_grid(setup, lay, np.array([1.0]), bmax)
    else:
        grid = evaluate_grid(setup, lay, max_batch=bmax)
    i, j, wait = choose(setup, grid, scenario)
    return _point(setup, grid, i, j, wait, n)


def closed_loop(setup: Setup, lay: Layout, clients: int, accelerators: int) -> tuple[Grid, NDArray]:
    """Every layout at the batch its share of ``clients`` closed-loop clients gives, and their
    TTFT [s] (shape (layouts, 1)).

    The clients spread evenly over the replicas; a replica holds as many as its memory and
    the engine allow (:func:`max_batches`) and the rest wait for a free slot: with ``b`` in
    flight, ``c`` clients and a request lasting ``T + (o - 1) t``, a waiting client waits
    ``(c - b) / b`` requests' time (Little's law for the closed loop). The TTFT of the clients
    in flight is :func:`~tokenfab.perf.serving.closed_loop_ttft_s`, with the engine's front
    end and the first wave of a benchmark run (``data/closed_loop.csv``).
    """
    replicas = np.maximum(np.floor(accelerators / lay.accelerators), 1.0)
    per_replica = clients / replicas
    bmax = max_batches(setup, lay)
    batch = np.maximum(np.minimum(per_replica, bmax), 1.0)
    grid = evaluate_grid(setup, lay, batch[:, None], bmax)
    col = lay.column()
    prompt = setup.input_tokens * (1.0 - setup.prefix_cache_hit_rate)
    own = closed_loop_ttft_s(
        *_args(setup),
        col,
        setup.weight_bytes_per_param,
        setup.kv_bytes_per_element,
        batch[:, None],
        prompt,
        setup.output_tokens,
        setup.engine.frontend_s,
        setup.engine.first_wave_share,
    )
    request_s = own + (setup.output_tokens - 1) * grid.tpot_s
    slots = np.maximum(per_replica[:, None] - batch[:, None], 0.0) / batch[:, None] * request_s
    return grid, own + slots


def _point(
    setup: Setup, grid: Grid, i: int, j: int, wait: float, accelerators: int
) -> OperatingPoint:
    lay = grid.layouts
    per_replica = int(lay.accelerators[i])
    replicas = accelerators // per_replica
    w, kv, reserve = (float(v[i]) for v in _memory_per_accelerator(setup, lay))
    out = float(grid.output_tok_s_replica[i, j]) * replicas
    share = float(grid.prefill_time_share[i, j])
    n_prefill = n_decode = 0
    scale = 1.0
    if setup.scenario.disaggregated:
        n_prefill, n_decode, split_out = disaggregated_split(
            replicas, float(grid.output_tok_s_replica[i, j]), share
        )
        scale = split_out / out  # whole pools carry at most what continuous ones would
        out, share = split_out, n_prefill / replicas
    return OperatingPoint(
        setup=setup,
        accelerators=accelerators,
        tensor_parallel=int(lay.tensor_parallel[i]),
        pipeline_parallel=int(lay.pipeline_parallel[i]),
        expert_parallel=int(lay.expert_parallel[i]),
        attention_data_parallel=int(lay.attention_data_parallel[i]),
        moe_tensor_parallel=int(lay.moe_tensor_parallel[i]),
        replicas=replicas,
        prefill_replicas=n_prefill,
        decode_replicas=n_decode,
        batch_size=int(grid.batch[i, j]),
        max_batch_size=int(grid.max_batch[i]),
        ttft_s=float(grid.ttft_service_s[i, j]) + wait,
        queue_wait_s=wait,
        tpot_s=float(grid.tpot_s[i, j]),
        output_tok_s_total=out,
        prefill_tok_s_total=float(grid.prefill_tok_s_replica[i, j]) * replicas * scale,
        roofline_output_tok_s_total=float(grid.roofline_output_tok_s_replica[i, j]) * replicas,
        prefill_time_share=share,
        bound="memory" if bool(grid.memory_bound[i, j]) else "compute",
        weights_gb_per_accelerator=w / 1e9,
        kv_gb_per_accelerator=max(kv, 0.0) / 1e9,
        reserve_gb_per_accelerator=reserve / 1e9,
        requests_per_second=out / setup.output_tokens,
        hbm_busy_share=float(grid.hbm_busy_share[i, j]),
        compute_busy_share=float(grid.compute_busy_share[i, j]),
        grid_point=_grid_point(grid, i, j),
    )


def _memory_per_accelerator(setup: Setup, lay: Layout) -> tuple[NDArray, NDArray, NDArray]:
    """Weights, KV budget and runtime reserve on each accelerator of each layout [byte], once
    per model shape, peaks, engine and layouts (the rows a calculator's requests share)."""
    s, e, bpp = setup.shape, setup.engine.engine, setup.weight_bytes_per_param
    return _memo(
        "memory",
        (s, setup.hw, e, lay),
        (bpp,),
        lambda: (
            weight_bytes_per_accelerator(s, lay, bpp),
            kv_budget_bytes(s, setup.hw, e, lay, bpp),
            runtime_reserve_bytes(s, e, lay, bpp),
        ),
    )


def _grid_point(grid: Grid, i: int, j: int) -> GridPoint:
    shape = grid.batch.shape

    def at(v: NDArray) -> float:  # a field that does not vary along an axis may lack it
        return float(v[i, j] if np.shape(v) == shape else np.broadcast_to(v, shape)[i, j])

    state = SteadyState(
        at(grid.batch),
        at(grid.tpot_s),
        at(grid.ttft_service_s),
        at(grid.output_tok_s_replica),
        at(grid.prefill_tok_s_replica),
        at(grid.prefill_time_share),
        at(grid.memory_bound),
        at(grid.hbm_busy_share),
        at(grid.compute_busy_share),
    )
    out = np.broadcast_to(grid.output_tok_s_replica, shape)[i]
    top = float(out[int(np.argmax(np.where(grid.valid[i], out, -np.inf)))])
    return GridPoint(state, at(grid.roofline_output_tok_s_replica), float(grid.max_batch[i]), top)
