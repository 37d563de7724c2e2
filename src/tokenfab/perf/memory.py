"""Memory of a served model: weight bytes, KV-cache bytes, and the experts a batch touches.

All functions broadcast over NumPy arrays. :class:`ModelShape` turns a catalog
:class:`~tokenfab.catalog.Model` into the numbers the roofline needs, and stacks several
models into arrays so one call can evaluate many scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tokenfab.catalog import Model
from tokenfab.errors import ScenarioError
from tokenfab.perf.params import (
    has_full_attention_geometry,
    mamba2_state_elements,
    parameter_breakdown,
)

EMBEDDING_BYTES_PER_PARAM = 2.0
"""Embedding tables and the output head stay in 16 bits in quantised checkpoints (ModelOpt,
llm-compressor and AWQ all leave ``lm_head`` unquantised by default)."""

KEPT_16BIT = ("norms", "MoE router gates", "embedding table", "output head")
"""Tensors a quantised checkpoint keeps in 16 bits whatever its matrix format: DeepSeek-V3's
native FP8 checkpoint stores ``weight_scale_inv`` block scales only beside its projection and
expert matrices; ``model.embed_tokens``, ``lm_head``, the norms and the ``mlp.gate`` router stay
BF16 (deepseek-ai/DeepSeek-V3@README_WEIGHTS.md, "FP8 Weight Documentation"; Hugging Face
``deepseek-ai/DeepSeek-V3`` ``model.safetensors.index.json``). NVIDIA Model Optimizer's default
quantisation config disables the ``*lm_head*``, ``*router*`` and ``*mlp.gate.*`` quantizers
(NVIDIA/TensorRT-Model-Optimizer@modelopt/torch/quantization/config.py,
``_default_disabled_quantizer_cfg``); norms are not linear layers and are never quantised."""

EXPERTS_ONLY_CHECKPOINTS = frozenset({"mxfp4"})
"""Native checkpoint formats that quantise only the routed experts: gpt-oss's MXFP4 checkpoint
stores the MoE weights in MXFP4 and every other tensor (attention, router, embeddings) in BF16
(OpenAI, gpt-oss model card, arXiv:2508.10925, section 2: "we quantize the MoE weights to
MXFP4"; Hugging Face config ``quantization_config.modules_to_not_convert`` lists the attention,
router, embedding and unembedding modules)."""


KERNELS_GQA_ATTENTION = 5
"""Kernels of a multi-head or grouped-query attention block in a decode step: the input RMSNorm,
the QKV projection, rotary embedding with the cache write, attention, the output projection
(vllm-project/vllm@vllm/model_executor/models/llama.py, ``LlamaDecoderLayer.forward``)."""

KERNELS_MLA_ATTENTION = 10
"""Kernels of a multi-head latent attention block decoding with absorbed projections: the input
RMSNorm, the fused Q-down and KV-down projection, the Q and KV latent RMSNorms, the Q-up
projection, the batched product with the key up-projection, rotary embedding, latent attention
with the cache write, the batched product with the value up-projection, the output projection
(sgl-project/sglang@python/sglang/srt/models/deepseek_v2.py, ``forward_absorb``)."""

KERNELS_DENSE_FFN = 4
"""Kernels of a dense gated FFN block: the RMSNorm, the gate-up projection, SiLU-and-multiply,
the down projection (vllm-project/vllm@vllm/model_executor/models/llama.py, ``LlamaMLP``)."""

KERNELS_MOE_FFN = 8
"""Kernels of a routed-expert FFN block: the RMSNorm, the router GEMM, top-k softmax, the
token-to-expert alignment, the first grouped GEMM, the activation, the second grouped GEMM, the
weighted sum of each token's experts (vllm-project/vllm@vllm/model_executor/layers/fused_moe/
fused_moe.py: ``topk_softmax``, ``moe_align_block_size``, two ``invoke_fused_moe_kernel``,
``moe_sum``)."""

KERNELS_SHARED_EXPERT = 3
"""Kernels the shared experts add to a MoE block: their gate-up projection, activation and down
projection, a dense FFN's less its norm (:data:`KERNELS_DENSE_FFN`)."""


def kernel_layers(
    layers: ArrayLike, moe_layers: ArrayLike, mla: ArrayLike, shared_experts: ArrayLike
) -> NDArray:
    """Layers of a model counted in a dense grouped-query-attention layer's kernel launches [-].

    A decode step's fixed cost per layer (``overhead_per_layer_s`` of
    :func:`tokenfab.perf.serving.step_overhead_s`) is the launch and drain of the layer's short
    kernels; a layer with more kernels costs more. A dense GQA layer launches
    :data:`KERNELS_GQA_ATTENTION` + :data:`KERNELS_DENSE_FFN` = 9; other layers count in
    proportion:

    .. math:: L_k = \\frac{(L - L_{moe})(k_{attn} + k_{ffn}) + L_{moe}(k_{attn} + k_{moe}
              + [\\text{shared}]\\, k_{shared})}{k_{gqa} + k_{ffn}}

    Collectives are charged apart (:func:`tokenfab.perf.parallel.layer_comm_time_s`). Until the
    second refit of 2026-12-01 every layer counted one (docs/method.md 6.5).

    Parameters
    ----------
    layers, moe_layers : array_like
        Transformer layers, and those with routed experts.
    mla : array_like of bool
        Multi-head latent attention (:data:`KERNELS_MLA_ATTENTION`), else GQA or MHA.
    shared_experts : array_like of bool
        Whether MoE layers also run shared experts.

    Examples
    --------
    Llama-3.1-8B (32 dense GQA layers): 32. DeepSeek-V3 (61 MLA layers, 58 MoE with a shared
    expert): (3 x (10 + 4) + 58 x (10 + 8 + 3)) / 9 = (42 + 1218) / 9 = 140. gpt-oss-120b (36
    GQA MoE layers, no shared expert): 36 x 13 / 9 = 52.

    >>> [float(kernel_layers(*a)) for a in ((32, 0, False, False), (61, 58, True, True),
    ...                                      (36, 36, False, False))]
    [32.0, 140.0, 52.0]
    """
    layers = np.asarray(layers, dtype=float)
    moe = np.asarray(moe_layers, dtype=float)
    attention = np.where(mla, KERNELS_MLA_ATTENTION, KERNELS_GQA_ATTENTION)
    expert_ffn = KERNELS_MOE_FFN + np.where(shared_experts, KERNELS_SHARED_EXPERT, 0)
    kernels = (layers - moe) * (attention + KERNELS_DENSE_FFN) + moe * (attention + expert_ffn)
    return kernels / (KERNELS_GQA_ATTENTION + KERNELS_DENSE_FFN)


@dataclass(frozen=True)
class ModelShape:
    """The numeric architecture of a model, as arrays that broadcast.

    Parameter counts are whole-model counts (not per accelerator); ``params_expert`` is one
    routed expert in one MoE layer.
    """

    layers: NDArray
    hidden: NDArray
    attention_heads: NDArray
    qk_head_dim: NDArray  # per-head width of Q·K (MLA: nope + rope part)
    v_head_dim: NDArray
    decode_qk_dim: NDArray  # per-head width of Q·K in decode (MLA with absorbed projections)
    decode_v_dim: NDArray
    kv_elements_per_token_layer: NDArray  # K and V (GQA/MHA) or the MLA latent, per layer
    kv_shards_max: NDArray  # KV heads: how far tensor parallelism can split the cache
    window_tokens: NDArray  # sliding-window length (inf where none)
    window_layer_share: NDArray  # share of layers that use the window
    full_kv_scale: NDArray  # KV elements of a full-attention layer over kv_elements_per_token_layer
    full_attention_scale: NDArray  # a full-attention layer's (qk + v) head width over the others'
    linear_layer_share: NDArray  # share of layers without growing KV: linear, Mamba2, FFN blocks
    linear_state_elements: NDArray  # constant state a sequence, mean over those layers
    compressed_kv_share: NDArray  # compressed KV and indexer keys a context token, per layer
    compressed_attend_share: NDArray  # compressed entries attended a context token (H layers)
    compressed_topk_share: NDArray  # share of layers attending an indexer's top-k (C)
    compressed_topk_ratio: NDArray  # tokens a C layer pools into one entry (1 where none)
    compressed_topk_tokens: NDArray  # entries a C layer's indexer picks (0 where none)
    full_topk_tokens: NDArray  # tokens a full layer attends under DSA (inf where none)
    indexer_keys_share: NDArray  # keys an indexer scores a context token, per layer
    indexer_width: NDArray  # indexer heads x head width (0 where none)
    params_attention: NDArray
    params_dense: NDArray  # dense FFN layers, norms and router gates
    params_shared: NDArray  # shared experts, all layers
    params_expert: NDArray  # one routed expert of one MoE layer
    moe_layers: NDArray
    kernel_layers: NDArray  # layers in dense GQA layers' kernel launches (:func:`kernel_layers`)
    experts: NDArray
    experts_per_token: NDArray
    params_embedding: NDArray
    params_lm_head: NDArray  # the output head's multiply (the embedding table when tied)
    head_tied: NDArray  # 1 where the output head shares the embedding table's storage
    non_expert_bytes_per_param: NDArray  # format of the non-expert matrices; NaN: the weight format
    params_norms_router: NDArray  # of params_dense: norms and router gates, 16-bit when quantised
    params_kept_16bit: NDArray
    expert_load_scale: NDArray  # bytes a routed expert takes once the engine loads it, over stored
    """Attention, dense-FFN and shared-expert parameters the served checkpoint keeps in 16 bits
    beyond ``params_norms_router`` (the catalog's ``fp8_checkpoint_16bit`` when served in fp8)."""

    @classmethod
    def from_record(cls, model: Model, precision: str | None = None) -> Self:
        """Numbers of one catalog model (see ``tokenfab.perf.params`` for the counting).

        ``precision`` is the weight format served. Served in its native format, a checkpoint
        that quantises only the routed experts (:data:`EXPERTS_ONLY_CHECKPOINTS`: gpt-oss's
        MXFP4) keeps its attention, dense and shared-expert matrices in 16 bits.
        """
        p = parameter_breakdown(model)
        if model.attention == "mla":
            qk = (model.qk_nope_head_dim or 0) + (model.qk_rope_head_dim or 0)
            v = model.v_head_dim or model.head_dim
            kv_elems = (model.kv_lora_rank or 0) + (model.qk_rope_head_dim or 0)
            # Decode attends in the latent space once the up-projections are absorbed.
            dqk, dv = kv_elems, model.kv_lora_rank or 0
            shards = 1  # one latent per token and layer, shared by all heads
        else:
            qk = v = dqk = dv = model.head_dim
            # DeepSeek-V4 caches one tensor a token that serves as keys and values
            kv_elems = (1 if model.kv_shared else 2) * model.num_kv_heads * model.head_dim
            shards = model.num_kv_heads
        full_kv_scale = full_attention_scale = 1.0
        if has_full_attention_geometry(model):
            # Gemma 4: full-attention layers have wider heads and fewer KV heads than the
            # sliding ones. Their K and V are both cached (an engine that stores shared keys
            # once would halve this), so only the head count and width change the cache.
            f_hd = model.full_attention_head_dim or model.head_dim
            f_kv = model.full_attention_kv_heads or model.num_kv_heads
            full_kv_scale = (2 * f_kv * f_hd) / kv_elems
            full_attention_scale = f_hd / model.head_dim
            shards = min(shards, f_kv)
        window = float(model.sliding_window) if model.sliding_window else np.inf
        window_share = model.window_layers / model.num_layers if model.sliding_window else 0.0
        # layers that attend to no context: linear attention (L), Mamba2 (M) and, in
        # Nemotron-H, the feed-forward blocks without a token mixer (P)
        no_context = model.linear_attention_layers + model.mamba_layers + model.ffn_blocks
        linear_share = no_context / model.num_layers
        kept_16bit = 0.0
        if precision == "fp8" and model.fp8_checkpoint_16bit:
            parts = model.fp8_checkpoint_16bit.split(";")
            if "attention" in parts:
                kept_16bit += p.attention
            dense_layers = model.num_layers - p.num_moe_layers
            if "dense_ffn" in parts:
                kept_16bit += p.dense_ffn
            elif "ffn_first_last" in parts and dense_layers:
                # the first and the last layer's FFN, at one dense layer's FFN each
                kept_16bit += min(2, dense_layers) * p.dense_ffn / dense_layers
            if "shared_experts" in parts:
                kept_16bit += p.shared_experts
        linear_state = 0.0
        if model.linear_attention_layers:
            # Gated DeltaNet keeps, per sequence and layer, one d_k x d_v matrix a value head
            # and the last (w - 1) inputs of its causal convolution (Yang et al., ICLR 2025)
            key = (model.linear_num_key_heads or 0) * (model.linear_key_head_dim or 0)
            value = (model.linear_num_value_heads or 0) * (model.linear_value_head_dim or 0)
            linear_state = value * (model.linear_key_head_dim or 0) + (
                (model.linear_conv_kernel_dim or 1) - 1
            ) * (2 * key + value)
        state_total = linear_state * model.linear_attention_layers
        if model.mamba_layers:
            # Mamba2: an n_h x p x N SSM state and the convolution's last w - 1 inputs
            # (tokenfab.perf.params.mamba2_state_elements)
            state_total += mamba2_state_elements(model) * model.mamba_layers
        linear_state = state_total / no_context if no_context else 0.0
        comp = compressed_attention_terms(model, kv_elems)
        values = dict(
            layers=model.num_layers,
            hidden=model.hidden_size,
            attention_heads=model.num_attention_heads,
            qk_head_dim=qk,
            v_head_dim=v,
            decode_qk_dim=dqk,
            decode_v_dim=dv,
            kv_elements_per_token_layer=kv_elems,
            kv_shards_max=shards,
            window_tokens=window,
            window_layer_share=window_share,
            full_kv_scale=full_kv_scale,
            full_attention_scale=full_attention_scale,
            linear_layer_share=linear_share,
            linear_state_elements=linear_state,
            **comp,
            params_attention=p.attention,
            params_dense=p.dense_ffn + p.norms_and_router,
            params_shared=p.shared_experts,
            params_expert=p.routed_expert,
            moe_layers=p.num_moe_layers,
            kernel_layers=kernel_layers(
                model.num_layers,
                p.num_moe_layers,
                model.attention == "mla",
                p.shared_experts > 0,
            ),
            experts=model.num_experts,
            experts_per_token=model.experts_per_token,
            params_embedding=p.embedding,
            params_lm_head=p.lm_head if p.lm_head else p.embedding,
            head_tied=0.0 if p.lm_head else 1.0,
            params_norms_router=p.norms_and_router,
            params_kept_16bit=kept_16bit,
            expert_load_scale=1.0,
            non_expert_bytes_per_param=(
                2.0
                if precision == model.native_precision
                and model.native_precision in EXPERTS_ONLY_CHECKPOINTS
                else np.nan
            ),
        )
        return cls(**{k: np.asarray(v, dtype=float) for k, v in values.items()})

    @classmethod
    def stack(cls, shapes: list[ModelShape]) -> Self:
        """Stack shapes along a new first axis, for evaluating many models in one call."""
        return cls(**{f.name: np.stack([getattr(s, f.name) for s in shapes]) for f in fields(cls)})

    def take(self, index: ArrayLike) -> Self:
        """Select entries of a stacked shape with an index array (fancy indexing)."""
        return type(self)(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def non_expert_bytes(self, weight_bytes_per_param: ArrayLike) -> NDArray:
        """Bytes of the attention, dense-FFN, norm/router and shared-expert matrices [byte]:
        in the checkpoint's own format where it keeps them apart from the experts."""
        bpp = np.asarray(weight_bytes_per_param, dtype=float)
        own = np.where(
            np.isnan(self.non_expert_bytes_per_param), bpp, self.non_expert_bytes_per_param
        )
        # norms and MoE router gates stay in 16 bits in quantised checkpoints
        # (:data:`KEPT_16BIT`)
        # and so do the parts the checkpoint keeps in 16 bits (``params_kept_16bit``)
        nr = self.params_norms_router + self.params_kept_16bit
        return (self.params_attention + self.params_dense + self.params_shared - nr) * own + (
            nr * np.maximum(own, EMBEDDING_BYTES_PER_PARAM)
        )

    @property
    def params_routed_total(self) -> NDArray:
        return self.params_expert * self.experts * self.moe_layers

    @property
    def params_always_read(self) -> NDArray:
        """Parameters every forward pass reads whatever the batch: all but routed experts and
        the embedding table (a lookup)."""
        return self.params_attention + self.params_dense + self.params_shared + self.params_lm_head

    @property
    def params_per_token_matmul(self) -> NDArray:
        """Parameters a token multiplies with (2 FLOPs each): the always-read ones and its
        top-k routed experts."""
        return (
            self.params_always_read + self.experts_per_token * self.params_expert * self.moe_layers
        )


def compressed_attention_terms(model: Model, kv_elements: float) -> dict[str, float]:
    """What sparse and compressed attention change a context token costs.

    Parameters
    ----------
    model : Model
        Catalog record.
    kv_elements : float
        KV elements one token keeps in one attention layer (DeepSeek-V4: one 512-wide entry;
        MLA: the latent and its RoPE key).

    Returns
    -------
    dict
        ``compressed_kv_share``: KV elements a context token adds beyond the window, averaged
        over the layers, in units of ``kv_elements``: a C layer keeps one entry per
        ``compress_ratio_sparse`` tokens and its indexer's key of ``indexer_head_dim``, an H
        layer one entry per ``compress_ratio_dense``, and a DeepSeek Sparse Attention (dsa)
        layer its indexer's key for every token (the latent itself is in the full-layer
        term); ``compressed_attend_share``: the H layers' compressed entries attended a context
        token; ``compressed_topk_share``, ``compressed_topk_ratio``, ``compressed_topk_tokens``:
        the C layers' share, ratio and indexer top-k (a C layer attends ``min(context / ratio,
        top-k)`` entries beside its window); ``full_topk_tokens``: the tokens a dsa layer
        attends (``min(context, top-k)``; inf without dsa); ``indexer_keys_share`` and
        ``indexer_width``: keys the indexers score a context token, averaged over the layers,
        and their ``indexer_num_heads x indexer_head_dim`` (2 FLOP each a key).

    Notes
    -----
    DeepSeek-V4's attention [1]_: every layer keeps its last ``sliding_window`` tokens
    uncompressed; a C layer also keeps ``context / 4`` compressed entries and attends the 512
    its lightning indexer picks; an H layer keeps and attends ``context / 128``. DeepSeek
    Sparse Attention [2]_ keeps every token's latent and an indexer key of 128, and attends the
    2,048 tokens its indexer picks. Indexer keys are stored at the KV precision here (DeepSeek
    stores them in FP8 or FP4).

    References
    ----------
    .. [1] DeepSeek-AI, DeepSeek-V4 inference code ``inference/model.py`` (``Attention``:
       ``kv_cache_size = window_size + max_seq_len // compress_ratio``; ``Indexer``:
       ``kv_cache`` of ``max_seq_len // compress_ratio`` x ``index_head_dim``),
       https://huggingface.co/deepseek-ai/DeepSeek-V4-Flash/blob/main/inference/model.py
    .. [2] DeepSeek-AI, DeepSeek-V3.2-Exp inference code ``inference/model.py`` (``Indexer``:
       ``k_cache`` of ``max_seq_len`` x ``index_head_dim``; ``index_topk`` 2048),
       github.com/deepseek-ai/DeepSeek-V3.2-Exp

    Examples
    --------
    DeepSeek-V4-Flash (43 layers: 21 C at 4 with a 128-wide indexer key, 20 H at 128):

    >>> from tokenfab.catalog import default_catalog
    >>> t = compressed_attention_terms(default_catalog().model("deepseek-v4-flash"), 512)
    >>> round(t["compressed_kv_share"] * 43 * 512)  # 21 x (512 + 128) / 4 + 20 x 512 / 128
    3440
    """
    sparse_c, dense_h = model.compressed_layers
    layers = model.num_layers
    kv_share = attend = keys = width = 0.0
    topk_share, ratio_c, topk, full_topk = 0.0, 1.0, 0.0, np.inf
    idx_w = float(model.indexer_head_dim or 0)
    if model.sparse_attention:
        width = float(model.indexer_num_heads or 0) * idx_w
    if sparse_c:
        ratio_c = float(model.compress_ratio_sparse or 1)
        kv_share += sparse_c * (1.0 + idx_w / kv_elements) / ratio_c / layers
        keys += sparse_c / ratio_c / layers
        topk_share = sparse_c / layers
        topk = float(model.sparse_attention_topk_tokens or 0)
    if dense_h:
        ratio_h = float(model.compress_ratio_dense or 1)
        kv_share += dense_h / ratio_h / layers
        attend += dense_h / ratio_h / layers
    if model.sparse_attention == "dsa":
        # every attention layer indexes every token and attends the top-k
        attention_layers = (
            layers - model.linear_attention_layers - model.mamba_layers - model.ffn_blocks
        )
        kv_share += attention_layers * idx_w / kv_elements / layers
        keys += attention_layers / layers
        full_topk = float(model.sparse_attention_topk_tokens or np.inf)
    return dict(
        compressed_kv_share=kv_share,
        compressed_attend_share=attend,
        compressed_topk_share=topk_share,
        compressed_topk_ratio=ratio_c,
        compressed_topk_tokens=topk,
        full_topk_tokens=full_topk,
        indexer_keys_share=keys,
        indexer_width=width,
    )


def attended_tokens(
    shape: ModelShape, context_tokens: ArrayLike, head_qkv_dim: ArrayLike
) -> NDArray:
    """Entries one token attends to at ``context_tokens``, averaged over the layers.

    Full-attention layers attend the whole context (``full_attention_scale`` times the cost
    where their heads are wider; the indexer's top-k under DeepSeek Sparse Attention),
    sliding-window layers at most the window, linear and Mamba2 layers none, and compressed
    layers (DeepSeek-V4) the window plus :func:`compressed_attention_terms`' entries. An
    indexer's scoring of its keys, ``2 n_I d_I`` FLOP a key, is counted as the attended entries
    of the same arithmetic, ``n_I d_I / (H (d_qk + d_v))`` each, with ``head_qkv_dim`` the
    ``d_qk + d_v`` of the phase (MLA's absorbed widths in decode). Multiplied by the layers it
    is the ``attended_tokens`` of :func:`tokenfab.perf.roofline.attention_flops_per_token`.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> s = ModelShape.from_record(default_catalog().model("llama-3.1-8b"))
    >>> float(attended_tokens(s, 1000.0, 256))
    1000.0
    """
    c = np.asarray(context_tokens, dtype=float)
    window = shape.window_layer_share
    full = (1 - window - shape.linear_layer_share) * shape.full_attention_scale
    sparse = bool(np.any(shape.indexer_width > 0))
    full_c = np.minimum(c, shape.full_topk_tokens) if sparse else c
    attended = full * full_c + window * np.minimum(c, shape.window_tokens)
    if np.any(shape.compressed_kv_share > 0):
        attended = (
            attended
            + shape.compressed_attend_share * c
            + shape.compressed_topk_share
            * np.minimum(c / shape.compressed_topk_ratio, shape.compressed_topk_tokens)
        )
    if sparse:
        per_key = shape.indexer_width / (shape.attention_heads * np.asarray(head_qkv_dim))
        attended = attended + shape.indexer_keys_share * c * per_key
    return attended


def weight_bytes(shape: ModelShape, weight_bytes_per_param: ArrayLike) -> NDArray:
    """Bytes to hold all weights [byte].

    Notes
    -----
    Matrix weights are stored in the chosen format; the embedding table and the output head
    stay in 16 bits (``EMBEDDING_BYTES_PER_PARAM``), and so do the non-expert matrices of a
    checkpoint that quantises only its experts (gpt-oss). A tied head is counted once.

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> s = ModelShape.from_record(default_catalog().model("llama-3.1-8b"))
    >>> round(float(weight_bytes(s, 2.0)) / 1e9, 1)  # 8.03 B params x 2 bytes
    16.1
    """
    bpp = np.asarray(weight_bytes_per_param, dtype=float)
    head = shape.params_lm_head * (1.0 - shape.head_tied)
    return (
        shape.non_expert_bytes(bpp)
        + shape.params_routed_total * bpp
        + (shape.params_embedding + head) * EMBEDDING_BYTES_PER_PARAM
    )


def kv_bytes_per_token(shape: ModelShape, kv_bytes_per_element: ArrayLike) -> NDArray:
    """KV-cache bytes one token adds across all layers at full attention [byte].

    Notes
    -----
    GQA/MHA stores K and V per KV head: :math:`2 n_{kv} d_h` elements a layer [1]_.
    MLA stores one compressed latent and a shared RoPE key: :math:`d_c + d_h^R` elements a
    layer [2]_.

    References
    ----------
    .. [1] Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models from
           Multi-Head Checkpoints", 2023. https://arxiv.org/abs/2305.13245
    .. [2] DeepSeek-AI, "DeepSeek-V2", 2024, section 2.1. https://arxiv.org/abs/2405.04434

    Examples
    --------
    >>> from tokenfab.catalog import default_catalog
    >>> s = ModelShape.from_record(default_catalog().model("llama-3.1-70b"))
    >>> float(kv_bytes_per_token(s, 2.0))  # 80 layers x 2 x 8 heads x 128 x 2 bytes
    327680.0
    """
    return (
        shape.layers
        * shape.kv_elements_per_token_layer
        * np.asarray(kv_bytes_per_element, dtype=float)
    )


def kv_bytes_per_sequence(
    shape: ModelShape, context_tokens: ArrayLike, kv_bytes_per_element: ArrayLike
) -> NDArray:
    """KV-cache bytes of one sequence holding ``context_tokens`` [byte].

    Sliding-window layers keep at most the window (compressed layers, C and H, also one
    entry per ``compress_ratio`` tokens: :func:`compressed_attention_terms`); linear-attention
    layers keep a state of constant size (``linear_state_elements`` a layer, stored at the KV precision) whatever
    the context; the others keep every token, ``full_kv_scale`` times a sliding layer's
    elements a token where their heads differ (Gemma 4).
    """
    c = np.asarray(context_tokens, dtype=float)
    full_share = 1.0 - shape.window_layer_share - shape.linear_layer_share
    effective = full_share * shape.full_kv_scale * c + shape.window_layer_share * np.minimum(
        c, shape.window_tokens
    )
    # compressed layers (DeepSeek-V4) keep, beside their window, one entry per ratio tokens
    effective = effective + shape.compressed_kv_share * c
    state = shape.layers * shape.linear_layer_share * shape.linear_state_elements
    return kv_bytes_per_token(shape, kv_bytes_per_element) * effective + state * np.asarray(
        kv_bytes_per_element, dtype=float
    )


def expected_distinct_experts(
    experts: ArrayLike, experts_per_token: ArrayLike, tokens: ArrayLike
) -> NDArray:
    """Expected number of distinct routed experts a batch of tokens touches in one layer.

    Notes
    -----
    With uniform, independent routing each token picks ``k`` of ``E`` experts; an expert is
    missed by one token with probability :math:`1 - k/E`, so

    .. math:: E_{touched} = E \\left(1 - (1 - k/E)^{T}\\right)

    which is ``k`` for one token and tends to ``E`` for large batches. Real routers are not
    uniform; skew lowers the count slightly at mid batch sizes.

    Examples
    --------
    >>> float(expected_distinct_experts(256, 8, 1))
    8.0
    >>> round(float(expected_distinct_experts(256, 8, 64)), 1)  # 256 (1 - (31/32)^64)
    222.4
    """
    e = np.asarray(experts, dtype=float)
    k = np.asarray(experts_per_token, dtype=float)
    t = np.asarray(tokens, dtype=float)
    if not np.any(e > 0):  # a dense model: no routed experts (skips the power on large arrays)
        return np.zeros(np.broadcast_shapes(e.shape, k.shape, t.shape))
    safe_e = np.where(e > 0, e, 1.0)
    return np.where(e > 0, safe_e * (1.0 - (1.0 - k / safe_e) ** t), 0.0)


def _round_up(x: int, multiple: int) -> int:
    return -(-x // multiple) * multiple


MXFP4_EXPERT_KERNELS = ("triton_hopper", "marlin")
"""The MXFP4 MoE kernels whose weight layout tokenfab knows: vLLM's Triton backend on Hopper
and its Marlin backend on Ampere (vllm-project/vllm@vllm/model_executor/layers/quantization/
mxfp4.py, ``get_mxfp4_backend``: Triton kernels from SM90, Marlin before)."""


def mxfp4_expert_loaded_bytes(
    hidden: int, intermediate: int, kernel: str, biases: bool = True
) -> int:
    """Bytes one MXFP4 expert with biases (gpt-oss) takes after the engine lays it out for its
    MoE kernel [byte].

    The expert is a fused gate/up matrix ``w13`` (``2I x H``) and a down matrix ``w2``
    (``H x I``), 4-bit values two a byte, one E8M0 scale byte a 32 values, and biases of the
    ``2I + H`` outputs.

    * ``triton_hopper`` (vLLM's Triton backend, Hopper): triton-lang/triton
      ``triton_kernels`` ``hopper_value.py`` pads the contracted bytes to 64 and the other
      axis to 256, ``hopper_scale.py`` pads the scale rows to 256; vLLM casts the biases to
      float32 (vllm-project/vllm@vllm/model_executor/layers/quantization/mxfp4.py,
      ``Mxfp4Backend.TRITON``).
    * ``marlin`` (vLLM's Marlin backend, Ampere): ``I`` rounded up to 128, ``H`` to 256, the
      biases stay 16-bit.

    Examples
    --------
    gpt-oss (H = I = 2,880): 13,223,790 B stored (24,891,840 parameters at 4.25 bits) become

    >>> mxfp4_expert_loaded_bytes(2880, 2880, "triton_hopper")  # 1,472 x 5,888 + ...
    14030080
    >>> mxfp4_expert_loaded_bytes(2880, 2880, "marlin")
    14431744
    """
    h, i = int(hidden), int(intermediate)
    if kernel == "triton_hopper":
        return (
            _round_up(h // 2, 64) * _round_up(2 * i, 256)  # w13 values
            + _round_up(i // 2, 64) * _round_up(h, 256)  # w2 values
            + _round_up(2 * i, 256) * (h // 32)  # w13 scales
            + _round_up(h, 256) * (i // 32)  # w2 scales
            + (2 * i + h) * 4 * biases  # float32 biases
        )
    if kernel == "marlin":
        ip, hp = _round_up(i, 128), _round_up(h, 256)
        values_and_scales = 2 * ip * hp // 2 + 2 * ip * hp // 32 + hp * ip // 2 + hp * ip // 32
        return values_and_scales + (2 * ip + hp) * 2 * biases
    raise ScenarioError(
        f"kernel: unknown MXFP4 expert kernel {kernel!r}; allowed: {', '.join(MXFP4_EXPERT_KERNELS)}"
    )
