"""Parameter counts of a transformer language model, from its architecture.

Counts come from the shapes in the model's Hugging Face ``config.json`` (the columns of
``data/models.csv``): one function, :func:`parameter_breakdown`, returns the parameters of each
kind of block, and its result says how many of them a model holds (``total``), how many one
token touches (``active``) and how many take part in matrix multiplications for one token
(``per_token_matmul``, so that the forward pass costs ``2 * per_token_matmul`` FLOP a token,
attention over the context aside).

Conventions
-----------
- ``total`` counts everything stored: embeddings, an untied output head, every layer and every
  routed expert. It is the number the developers publish as "total parameters" (checked
  against every row of ``models.csv`` to 3 % in ``tests/test_perf_params.py``).
- ``active`` counts what one token uses: all non-expert weights, the shared experts, the top-k
  routed experts of every MoE layer, *and* the whole embedding table and output head. This is
  how Mistral AI (Mixtral), Meta (Llama 4), Alibaba (Qwen3) and DeepSeek publish "active" or
  "activated" parameters.
- ``per_token_matmul`` is ``active`` less the embedding lookup (a gather, no multiply); a tied
  table still counts once, as the output head. OpenAI publishes gpt-oss's "active parameters"
  this way ("5.1B" for gpt-oss-120b: attention, 4 of 128 experts, router and unembedding).
- Small weights are approximated: norm weights count two hidden-size vectors a layer plus the
  final norm (models with four norms a layer, QK-norm vectors or LayerNorm biases differ by
  less than 0.01 %), biases of the output projection and of the output head are not counted.
- Multi-token-prediction (MTP) modules are not counted: DeepSeek-V3's published 671B excludes
  its 14B MTP module, which the Hugging Face checkpoint (685B) includes; GLM-4.5's
  ``num_hidden_layers`` (92) likewise excludes its MTP layer.
- Hybrid models count each layer's own token mixer: a linear-attention (Gated DeltaNet) layer,
  marked ``L`` in ``layer_types``, has :func:`linear_attention_params` in place of attention;
  sparse attention (DeepSeek Sparse Attention) adds its indexer, :func:`indexer_params`, to
  every attention layer. A Mamba2 layer, ``M``, has :func:`mamba2_params`. Nemotron-H models
  stack blocks that hold *either* a token mixer *or* a feed-forward network: their FFN blocks
  are ``P`` letters, and then the mixer letters carry no FFN and each block one norm.
- Vision encoders of multimodal models (Llama 4, Gemma 3, Mistral Small 3.1) are not counted;
  the catalog describes the text model only.

The function works on scalars (one model at a time) and is pure: no I/O, no state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenfab.errors import CatalogError

__all__ = [
    "ParamBreakdown",
    "attention_params",
    "compressed_attention_params",
    "compressor_params",
    "ffn_params",
    "has_full_attention_geometry",
    "hyper_connection_params",
    "indexer_params",
    "linear_attention_params",
    "mamba2_params",
    "mamba2_scan_flops_per_token",
    "mamba2_state_elements",
    "parameter_breakdown",
]


@dataclass(frozen=True)
class ParamBreakdown:
    """Parameters of one model by block [parameters, not billions].

    Attributes
    ----------
    embedding : float
        Input token-embedding table, ``vocab_size * hidden_size``.
    lm_head : float
        Output projection (unembedding); 0 when tied to the embedding table.
    attention : float
        Attention projections (and their biases, attention sinks) of all layers.
    dense_ffn : float
        Feed-forward networks of all dense (non-MoE) layers.
    shared_experts : float
        Shared (always-on) experts of all MoE layers.
    routed_expert : float
        One routed expert of one MoE layer.
    num_moe_layers : int
        Layers whose FFN is a mixture of experts.
    norms_and_router : float
        Norm weights and router (gate) matrices of all layers, and the final norm.
    num_experts : int
        Routed experts per MoE layer.
    experts_per_token : int
        Routed experts each token goes through in each MoE layer (top-k).
    tie_word_embeddings : bool
        The output head reuses the embedding table.
    """

    embedding: float
    lm_head: float
    attention: float
    dense_ffn: float
    shared_experts: float
    routed_expert: float
    num_moe_layers: int
    norms_and_router: float
    num_experts: int = 0
    experts_per_token: int = 0
    tie_word_embeddings: bool = False

    @property
    def routed_experts(self) -> float:
        """All routed experts of all MoE layers [parameters]."""
        return self.routed_expert * self.num_experts * self.num_moe_layers

    @property
    def total(self) -> float:
        """Every stored parameter: embeddings, untied head, all layers, all experts."""
        return (
            self.embedding
            + self.lm_head
            + self.attention
            + self.dense_ffn
            + self.shared_experts
            + self.routed_experts
            + self.norms_and_router
        )

    @property
    def active(self) -> float:
        """Parameters one token uses, embedding table and head included (model-card convention).

        Equal to ``total`` for a dense model; for an MoE model only ``experts_per_token`` of the
        ``num_experts`` routed experts of each MoE layer count.
        """
        unused = self.routed_expert * (self.num_experts - self.experts_per_token)
        return self.total - unused * self.num_moe_layers

    def active_as(self, basis: str) -> float:
        """``active`` counted as a publisher does [parameters].

        ``with_embeddings`` is :attr:`active`; ``without_input_embedding`` is
        :attr:`per_token_matmul`; ``without_embeddings`` leaves out the embedding table and
        the output head.
        """
        if basis == "with_embeddings":
            return self.active
        if basis == "without_input_embedding":
            return self.per_token_matmul
        if basis == "without_embeddings":
            return self.active - self.embedding - self.lm_head
        raise CatalogError(
            f"models: active_params_basis: unknown basis {basis!r}; allowed: with_embeddings, "
            "without_input_embedding, without_embeddings"
        )

    @property
    def per_token_matmul(self) -> float:
        """Parameters in matrix multiplications for one token: ``active`` less the lookup.

        The embedding lookup is a gather; when the table is tied it still serves as the output
        head, so it is counted once. ``2 * per_token_matmul`` is the FLOP of one token's forward
        pass without the attention-score terms that grow with context.
        """
        head = self.embedding if self.tie_word_embeddings else 0.0
        return self.active - self.embedding + head


def ffn_params(
    hidden_size: float, intermediate_size: float, gated: bool = True, bias: bool = False
) -> float:
    """Parameters of one feed-forward network (one dense FFN or one expert).

    Parameters
    ----------
    hidden_size : float
        Model width :math:`d` [elements].
    intermediate_size : float
        FFN width :math:`f` [elements].
    gated : bool
        Gated linear unit (SwiGLU, GeGLU: gate, up and down matrices) if true; a plain
        two-matrix MLP (GPT-J's ``fc_in``/``fc_out``) if false.
    bias : bool
        The linear layers carry biases (gpt-oss experts, GPT-J).

    Returns
    -------
    float
        Parameters [parameters].

    Notes
    -----
    Gated: :math:`3 d f` (+ :math:`2 f + d` biases); plain: :math:`2 d f` (+ :math:`f + d`).
    The gated form is Shazeer's GLU variant [1]_.

    References
    ----------
    .. [1] N. Shazeer, "GLU Variants Improve Transformer", arXiv:2002.05202 (2020).

    Examples
    --------
    >>> ffn_params(4096, 14336)  # one Llama-3.1-8B layer
    176160768
    """
    if gated:
        return 3 * hidden_size * intermediate_size + (2 * intermediate_size + hidden_size) * bias
    return 2 * hidden_size * intermediate_size + (intermediate_size + hidden_size) * bias


def has_full_attention_geometry(model: Any) -> bool:
    """Whether the model's full-attention (F) layers have a head geometry of their own
    (``full_attention_head_dim``, ``full_attention_kv_heads``, ``full_attention_shared_kv``).
    """
    return bool(
        getattr(model, "full_attention_head_dim", None)
        or getattr(model, "full_attention_kv_heads", None)
        or getattr(model, "full_attention_shared_kv", False)
    )


def attention_params(model: Any, full: bool = False) -> float:
    """Parameters of the attention block of one layer.

    Parameters
    ----------
    model : object
        Any object with the ``models.csv`` columns as attributes (a catalog record).
        Uses ``attention``, ``hidden_size``, ``num_attention_heads``, ``num_kv_heads``,
        ``head_dim``, ``attention_bias`` and, for MLA, ``q_lora_rank``, ``kv_lora_rank``,
        ``qk_rope_head_dim``, ``qk_nope_head_dim``, ``v_head_dim``; the optional attribute
        ``attention_sinks`` adds one learned sink logit per head.
    full : bool
        Count a full-attention (F) layer of a model whose F layers have their own head width,
        KV heads or shared keys and values (Gemma 4: ``full_attention_head_dim``,
        ``full_attention_kv_heads``, ``full_attention_shared_kv``, no value projection).

    Returns
    -------
    float
        Parameters of one layer's attention [parameters]; MLA's latent norms are left to
        :func:`parameter_breakdown`'s ``norms_and_router``.

    Notes
    -----
    Multi-head and grouped-query attention [1]_ with :math:`h` query heads, :math:`g` KV heads
    of width :math:`d_h`:

    .. math:: d (h d_h) + 2 d (g d_h) + (h d_h) d \\; [+ h d_h + 2 g d_h \\text{ biases}]

    Multi-head latent attention [2]_ with query rank :math:`r_q`, KV rank :math:`r_{kv}`, rope
    width :math:`d_r`, no-rope width :math:`d_n`, value width :math:`d_v`:

    .. math:: d r_q + r_q h (d_n + d_r) + d (r_{kv} + d_r) + r_{kv} h (d_n + d_v) + h d_v d

    (with :math:`r_q` empty the query is one :math:`d \\times h (d_n + d_r)` matrix).

    References
    ----------
    .. [1] J. Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models from
       Multi-Head Checkpoints", EMNLP 2023, arXiv:2305.13245.
    .. [2] DeepSeek-AI, "DeepSeek-V2: A Strong, Economical, and Efficient Mixture-of-Experts
       Language Model", arXiv:2405.04434 (2024), section 2.1.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> llama = SimpleNamespace(attention="gqa", hidden_size=4096, num_attention_heads=32,
    ...                         num_kv_heads=8, head_dim=128, attention_bias=False)
    >>> attention_params(llama)  # Llama-3.1-8B: 4096*4096*2 + 4096*1024*2
    41943040
    """
    d = model.hidden_size
    h = model.num_attention_heads
    sinks = h if getattr(model, "attention_sinks", False) else 0
    if model.attention == "mla":
        rope = _need(model, "qk_rope_head_dim")
        nope = _need(model, "qk_nope_head_dim")
        v = _need(model, "v_head_dim")
        kv_rank = _need(model, "kv_lora_rank")
        q_rank = model.q_lora_rank
        q = d * q_rank + q_rank * h * (nope + rope) if q_rank else d * h * (nope + rope)
        kv = d * (kv_rank + rope) + kv_rank * h * (nope + v)
        return q + kv + h * v * d + sinks
    hd = model.head_dim or d // h
    kv_heads = model.num_kv_heads
    kv_mats = 1 if getattr(model, "kv_shared", False) else 2
    if full and has_full_attention_geometry(model):
        hd = getattr(model, "full_attention_head_dim", None) or hd
        kv_heads = getattr(model, "full_attention_kv_heads", None) or kv_heads
        kv_mats = 1 if getattr(model, "full_attention_shared_kv", False) else 2
    q_width = h * hd
    kv_width = kv_heads * hd
    # an output gate doubles the query projection (query and gate from one matrix)
    gate = 2 if getattr(model, "attention_output_gate", False) else 1
    q_rank = getattr(model, "q_lora_rank", None)
    # a low-rank query (DeepSeek-V4): d x r_q down, r_q x (h d_h) up
    query = gate * (d * q_rank + q_rank * q_width) if q_rank else gate * d * q_width
    o_rank = getattr(model, "o_lora_rank", None)
    # a grouped low-rank output (DeepSeek-V4): each of g groups maps its h d_h / g head outputs
    # to r_o, then one (g r_o) x d matrix: h d_h r_o + g r_o d
    out = q_width * o_rank + model.o_groups * o_rank * d if o_rank else q_width * d
    weights = query + out + kv_mats * d * kv_width
    bias = (gate * q_width + kv_mats * kv_width) if model.attention_bias else 0
    return weights + bias + sinks


def compressor_params(hidden_size: float, width: float, ratio: float, overlap: bool) -> float:
    """Parameters of one KV compressor of DeepSeek-V4's compressed attention.

    Parameters
    ----------
    hidden_size : float
        Model width :math:`d`.
    width : float
        Width of the compressed entry :math:`w` (the KV head width, or the indexer's).
    ratio : float
        Tokens pooled into one entry :math:`r`.
    overlap : bool
        Overlapping windows (the C layers' ratio-4 compressors): every projection is twice as
        wide (:math:`c = 2`, else 1).

    Notes
    -----
    A KV projection and a gate projection of :math:`d \times c w`, a learned position bias of
    :math:`r \times c w` and an RMSNorm of :math:`w` [1]_:

    .. math:: 2 d c w + r c w + w

    References
    ----------
    .. [1] DeepSeek-AI, DeepSeek-V4 inference code, ``inference/model.py`` class
       ``Compressor`` (``wkv``, ``wgate``, ``ape``, ``norm``; ``overlap = compress_ratio ==
       4``), https://huggingface.co/deepseek-ai/DeepSeek-V4-Flash/blob/main/inference/model.py

    Examples
    --------
    >>> compressor_params(4096, 512, 128, False)  # 2*4096*512 + 128*512 + 512
    4260352
    """
    c = 2 if overlap else 1
    return 2 * hidden_size * c * width + ratio * c * width + width


def compressed_attention_params(model: Any) -> float:
    """Parameters the compressed layers (C and H in ``layer_types``) add to their attention.

    Each C layer has a compressor of the KV head width at ``compress_ratio_sparse`` with
    overlapping windows and an indexer: a query up-projection from the query rank to
    :math:`n_I` heads of :math:`d_I`, :math:`n_I` head weights from the hidden state and a
    compressor of width :math:`d_I` of its own; each H layer a compressor of the KV head width
    at ``compress_ratio_dense`` (:func:`compressor_params`; DeepSeek-V4 ``Indexer``, ``wq_b``,
    ``weights_proj``, ``compressor``).

    Examples
    --------
    DeepSeek-V4-Flash: 21 C and 20 H layers, d = 4096, head width 512, indexer 64 x 128,
    query rank 1024:

    >>> from types import SimpleNamespace
    >>> flash = SimpleNamespace(hidden_size=4096, head_dim=512, q_lora_rank=1024,
    ...     layer_types="SS" + "CH" * 20 + "C", compress_ratio_sparse=4,
    ...     compress_ratio_dense=128, indexer_num_heads=64, indexer_head_dim=128)
    >>> round(compressed_attention_params(flash) / 1e6, 1)  # 21 x 19.14 M + 20 x 4.26 M
    487.1
    """
    types = getattr(model, "layer_types", None) or ""
    sparse_c, dense_h = types.count("C"), types.count("H")
    if not (sparse_c or dense_h):
        return 0.0
    d, hd = model.hidden_size, model.head_dim
    total = 0.0
    if sparse_c:
        r = _need(model, "compress_ratio_sparse")
        heads = _need(model, "indexer_num_heads")
        width = _need(model, "indexer_head_dim")
        q_in = model.q_lora_rank or d
        indexer = q_in * heads * width + d * heads + compressor_params(d, width, r, True)
        total += sparse_c * (compressor_params(d, hd, r, True) + indexer)
    if dense_h:
        r = _need(model, "compress_ratio_dense")
        total += dense_h * compressor_params(d, hd, r, False)
    return float(total)


def hyper_connection_params(model: Any) -> float:
    """Parameters of manifold-constrained hyper-connections (``hc_mult`` residual streams).

    Notes
    -----
    With :math:`n` streams of width :math:`d`, each layer mixes them before and after its
    attention and its FFN: per sub-layer a :math:`(2 + n) n \times n d` matrix, a bias of
    :math:`(2 + n) n` and 3 scales; the output head has an :math:`n \times n d` matrix, a bias
    of :math:`n` and one scale (DeepSeek-V4 ``Block.hc_attn_fn``, ``hc_ffn_fn``,
    ``hc_*_base``, ``hc_*_scale`` and ``hc_head_*``). Zero with one stream.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> flash = SimpleNamespace(hc_mult=4, hidden_size=4096, num_layers=43)
    >>> hyper_connection_params(flash)  # 43 x 2 x (24 x 16384 + 24 + 3) + 4 x 16384 + 5
    33884439.0
    """
    n = getattr(model, "hc_mult", None) or 1
    if n <= 1:
        return 0.0
    mix = (2 + n) * n
    wide = n * model.hidden_size
    per_layer = 2 * (mix * wide + mix + 3)
    return float(model.num_layers * per_layer + n * wide + n + 1)


def linear_attention_params(model: Any) -> float:
    """Parameters of one linear-attention (Gated DeltaNet) layer's token mixer.

    Parameters
    ----------
    model : object
        With ``hidden_size``, ``linear_num_key_heads`` :math:`n_k`, ``linear_num_value_heads``
        :math:`n_v`, ``linear_key_head_dim`` :math:`d_k`, ``linear_value_head_dim`` :math:`d_v`
        and ``linear_conv_kernel_dim`` :math:`w`.

    Returns
    -------
    float
        Parameters [parameters].

    Notes
    -----
    Gated DeltaNet [1]_ as Qwen3-Next implements it [2]_: projections of the input to
    queries and keys (:math:`2 n_k d_k`), values and output gate (:math:`2 n_v d_v`) and the
    per-head decay and beta (:math:`2 n_v`); a depthwise causal convolution of width :math:`w`
    over the :math:`2 n_k d_k + n_v d_v` query, key and value channels; per-head ``A_log`` and
    ``dt_bias``; a gated RMSNorm of width :math:`d_v`; and the output projection:

    .. math:: d (2 n_k d_k + 2 n_v d_v + 2 n_v) + w (2 n_k d_k + n_v d_v) + 2 n_v + d_v
              + n_v d_v d

    References
    ----------
    .. [1] S. Yang, J. Kautz, A. Hatamizadeh, "Gated Delta Networks: Improving Mamba2 with
       Delta Rule", ICLR 2025, arXiv:2412.06464.
    .. [2] Hugging Face ``transformers``, ``models/qwen3_next/modeling_qwen3_next.py``
       (``Qwen3NextGatedDeltaNet``: ``in_proj_qkvz``, ``in_proj_ba``, ``conv1d``, ``A_log``,
       ``dt_bias``, ``norm``, ``out_proj``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> qwen3_next = SimpleNamespace(hidden_size=2048, linear_num_key_heads=16,
    ...     linear_num_value_heads=32, linear_key_head_dim=128, linear_value_head_dim=128,
    ...     linear_conv_kernel_dim=4)
    >>> linear_attention_params(qwen3_next)  # 2048*12352 + 4*8192 + 64 + 128 + 4096*2048
    33718464
    """
    d = model.hidden_size
    key = _need(model, "linear_num_key_heads") * _need(model, "linear_key_head_dim")
    heads_v = _need(model, "linear_num_value_heads")
    value = heads_v * _need(model, "linear_value_head_dim")
    kernel = _need(model, "linear_conv_kernel_dim")
    projections = d * (2 * key + 2 * value + 2 * heads_v) + value * d
    conv = kernel * (2 * key + value)
    return projections + conv + 2 * heads_v + model.linear_value_head_dim


def _mamba2_widths(model: Any) -> tuple[int, int, int]:
    """Inner width, convolution channels and heads of one Mamba2 layer."""
    heads = _need(model, "mamba_num_heads")
    inner = heads * _need(model, "mamba_head_dim")
    conv = inner + 2 * _need(model, "mamba_groups") * _need(model, "mamba_state_size")
    return inner, conv, heads


def mamba2_params(model: Any) -> float:
    """Parameters of one Mamba2 layer's token mixer.

    Parameters
    ----------
    model : object
        With ``hidden_size`` :math:`d`, ``mamba_num_heads`` :math:`n_h`, ``mamba_head_dim``
        :math:`p`, ``mamba_state_size`` :math:`N`, ``mamba_groups`` :math:`g` and
        ``mamba_conv_kernel`` :math:`w`.

    Returns
    -------
    float
        Parameters [parameters].

    Notes
    -----
    Mamba2 [1]_ as Nemotron-H implements it [2]_, with inner width :math:`e = n_h p` and
    convolution channels :math:`c = e + 2 g N` (x, B and C): one input projection to the gate
    z, x, B, C and the per-head step dt (:math:`d (e + c + n_h)`), a depthwise causal
    convolution with bias (:math:`c (w + 1)`), per-head ``dt_bias``, ``A_log`` and ``D``, a
    gated RMSNorm of width :math:`e`, and the output projection:

    .. math:: d (e + c + n_h) + c (w + 1) + 3 n_h + e + e d

    References
    ----------
    .. [1] T. Dao, A. Gu, "Transformers are SSMs: Generalized Models and Efficient Algorithms
       Through Structured State Space Duality", ICML 2024, arXiv:2405.21060.
    .. [2] Hugging Face ``transformers``, ``models/nemotron_h/modeling_nemotron_h.py``
       (``NemotronHMamba2Mixer``: ``in_proj``, ``conv1d``, ``dt_bias``, ``A_log``, ``D``,
       ``norm``, ``out_proj``); NVIDIA, "Nemotron-H: A Family of Accurate and Efficient Hybrid
       Mamba-Transformer Models", arXiv:2504.03624 (2025).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> nano = SimpleNamespace(hidden_size=2688, mamba_num_heads=64, mamba_head_dim=64,
    ...     mamba_state_size=128, mamba_groups=8, mamba_conv_kernel=4)
    >>> mamba2_params(nano)  # 2688*10304 + 6144*5 + 192 + 4096 + 4096*2688
    38742208
    """
    d = model.hidden_size
    inner, conv, heads = _mamba2_widths(model)
    kernel = _need(model, "mamba_conv_kernel")
    return d * (inner + conv + heads) + conv * (kernel + 1) + 3 * heads + inner + inner * d


def mamba2_state_elements(model: Any) -> float:
    """Elements one sequence keeps in one Mamba2 layer, whatever its length.

    Notes
    -----
    The SSM state, :math:`n_h \times p \times N` (one :math:`p \times N` matrix a head), and
    the convolution's last :math:`w - 1` inputs of its :math:`c` channels [1]_:
    :math:`n_h p N + (w - 1) c`. Serving engines often keep the SSM state in 32 bits
    (Nemotron 3 Nano's config sets ``mamba_ssm_cache_dtype`` float32); tokenfab stores it at
    the KV-cache precision like every cache.

    References
    ----------
    .. [1] T. Dao, A. Gu, arXiv:2405.21060 (2024), section 7 (the recurrent state of the SSD
       layer) and the ``mamba_ssm`` inference cache (``conv_state``, ``ssm_state``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> nano = SimpleNamespace(mamba_num_heads=64, mamba_head_dim=64, mamba_state_size=128,
    ...     mamba_groups=8, mamba_conv_kernel=4)
    >>> mamba2_state_elements(nano)  # 64*64*128 + 3*6144
    542720
    """
    inner, conv, _heads = _mamba2_widths(model)
    return inner * model.mamba_state_size + (_need(model, "mamba_conv_kernel") - 1) * conv


def mamba2_scan_flops_per_token(model: Any) -> float:
    """FLOP of one token's state update and read-out in one Mamba2 layer, projections aside.

    Notes
    -----
    In recurrent (decode) form each head decays its :math:`p \times N` state, adds the outer
    product of its input and B, and reads it with C [1]_: about :math:`6 n_h p N` FLOP (decay
    multiply, outer-product multiply-add, read-out multiply-add), plus :math:`2 w c` for the
    depthwise convolution. The projections are matrix multiplications counted with the
    parameters (:func:`mamba2_params`, 2 FLOP each). Chunked prefill (SSD) does about the same
    work a token for chunks short against the state size.

    References
    ----------
    .. [1] T. Dao, A. Gu, arXiv:2405.21060 (2024), section 7.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> nano = SimpleNamespace(mamba_num_heads=64, mamba_head_dim=64, mamba_state_size=128,
    ...     mamba_groups=8, mamba_conv_kernel=4)
    >>> mamba2_scan_flops_per_token(nano)  # 6*64*64*128 + 2*4*6144
    3194880
    """
    inner, conv, _heads = _mamba2_widths(model)
    return 6 * inner * model.mamba_state_size + 2 * _need(model, "mamba_conv_kernel") * conv


def indexer_params(model: Any) -> float:
    """Parameters of one layer's lightning indexer (DeepSeek Sparse Attention).

    Notes
    -----
    The indexer of DeepSeek-V3.2 [1]_ projects the compressed query (rank :math:`r_q`) to
    :math:`n_I` heads of width :math:`d_I`, the hidden state to one key of width :math:`d_I`
    (with a LayerNorm, weight and bias) and to :math:`n_I` head weights:

    .. math:: r_q n_I d_I + d d_I + 2 d_I + d n_I

    References
    ----------
    .. [1] DeepSeek-AI, DeepSeek-V3.2-Exp inference code, ``inference/model.py`` class
       ``Indexer`` (github.com/deepseek-ai/DeepSeek-V3.2-Exp), and "DeepSeek-V3.2-Exp:
       Boosting Long-Context Efficiency with DeepSeek Sparse Attention" (2025).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> v32 = SimpleNamespace(hidden_size=7168, q_lora_rank=1536, indexer_num_heads=64,
    ...                       indexer_head_dim=128)
    >>> indexer_params(v32)  # 1536*8192 + 7168*128 + 256 + 7168*64
    13959424
    """
    d = model.hidden_size
    heads = _need(model, "indexer_num_heads")
    width = _need(model, "indexer_head_dim")
    q_in = model.q_lora_rank or d
    return q_in * heads * width + d * width + 2 * width + d * heads


def parameter_breakdown(model: Any) -> ParamBreakdown:
    """Parameters of a model by block, from its architecture.

    Parameters
    ----------
    model : object
        Any object with the ``models.csv`` columns as attributes (a
        :class:`tokenfab.catalog.Model` record): numeric empties as ``None``, booleans as
        ``bool``. Optional attributes ``ffn_gated`` (default true), ``ffn_bias`` (default
        false) and ``attention_sinks`` (default false) describe FFN and attention details the
        core columns do not.

    Returns
    -------
    ParamBreakdown
        Counts [parameters]; ``total``, ``active`` and ``per_token_matmul`` are derived.

    Raises
    ------
    CatalogError
        If a field the architecture needs is missing (an MoE model without
        ``moe_intermediate_size``, dense layers without ``intermediate_size``, an MLA model
        without its ranks) or the MoE layout leaves no MoE layer.

    Notes
    -----
    MoE layers are the layers after the first ``first_dense_layers`` (DeepSeek's
    ``first_k_dense_replace``) whose index, counted from there, is ``moe_layer_period - 1``
    modulo ``moe_layer_period`` (Llama 4 Maverick's ``interleave_moe_layer_step`` = 2 puts
    experts on layers 1, 3, ..., 47), so :math:`L_{moe} = \\lfloor (L - L_0) / p \\rfloor`.
    Every other layer has a dense FFN of width ``intermediate_size``. A shared expert has width
    ``shared_expert_intermediate_size`` when given, else ``num_shared_experts`` experts of
    width ``moe_intermediate_size``; the router is a ``hidden_size x num_experts`` matrix
    (plus a bias when ``ffn_bias``). Layer structure follows the Hugging Face
    ``transformers`` implementations of each architecture (``LlamaForCausalLM``,
    ``MixtralForCausalLM``, ``DeepseekV3ForCausalLM``, ``Llama4ForCausalLM``,
    ``GptOssForCausalLM``, ``GPTJForCausalLM``) [1]_; the MoE and MLA layouts are those of
    the DeepSeek-V3 report [2]_ and the gpt-oss model card [3]_.

    References
    ----------
    .. [1] Hugging Face, ``transformers`` model implementations,
       https://github.com/huggingface/transformers/tree/main/src/transformers/models
    .. [2] DeepSeek-AI, "DeepSeek-V3 Technical Report", arXiv:2412.19437 (2024), section 4.2
       and the model card (671B main model + 14B MTP module = 685B on Hugging Face).
    .. [3] OpenAI, "gpt-oss-120b & gpt-oss-20b Model Card", arXiv:2508.10925 (2025), Table 1.

    Examples
    --------
    Llama-2-7B (32 layers, d = 4096, 32 heads, FFN 11008, vocabulary 32000, untied):

    >>> from types import SimpleNamespace
    >>> llama2 = SimpleNamespace(
    ...     kind="dense", attention="mha", num_layers=32, hidden_size=4096,
    ...     num_attention_heads=32, num_kv_heads=32, head_dim=128, intermediate_size=11008,
    ...     vocab_size=32000, tie_word_embeddings=False, attention_bias=False)
    >>> p = parameter_breakdown(llama2)
    >>> int(p.total)  # Hugging Face reports 6,738,415,616 for meta-llama/Llama-2-7b-hf
    6738415616
    >>> int(p.per_token_matmul)  # less the 131M-parameter embedding lookup
    6607343616
    """
    d = model.hidden_size
    layers = model.num_layers
    gated = getattr(model, "ffn_gated", True)
    gated = True if gated is None else bool(gated)
    bias = bool(getattr(model, "ffn_bias", False))

    embedding = float(model.vocab_size * d)
    tied = bool(model.tie_word_embeddings)
    lm_head = 0.0 if tied else embedding
    types = getattr(model, "layer_types", None) or ""
    linear_layers = types.count("L")
    mamba_layers = types.count("M")
    ffn_blocks = types.count("P")  # Nemotron-H: blocks with an FFN and no token mixer
    attention_layers = layers - linear_layers - mamba_layers - ffn_blocks
    full_own = types.count("F") if has_full_attention_geometry(model) else 0
    attention = float(attention_params(model) * (attention_layers - full_own))
    if full_own:
        attention += float(attention_params(model, full=True) * full_own)
    if linear_layers:
        attention += float(linear_attention_params(model) * linear_layers)
    if mamba_layers:
        attention += float(mamba2_params(model) * mamba_layers)
    if getattr(model, "sparse_attention", None) == "dsa":
        attention += float(indexer_params(model) * attention_layers)
    attention += compressed_attention_params(model)
    # two norms a layer (before the mixer and the FFN); one a block where blocks hold one each
    norms = float(((layers if ffn_blocks else 2 * layers) + 1) * d)
    if model.attention == "mla":
        norms += attention_layers * ((model.q_lora_rank or 0) + _need(model, "kv_lora_rank"))
    elif getattr(model, "q_lora_rank", None):
        # a low-rank query has its norm; DeepSeek-V4 normalises its one KV head too
        norms += attention_layers * (model.q_lora_rank + model.head_dim)
    # hyper-connection mixing weights are kept in float32 beside the norms
    norms += hyper_connection_params(model)

    num_experts = 0
    top_k = 0
    num_moe = 0
    routed = 0.0
    shared = 0.0
    router = 0.0
    if model.kind == "moe":
        num_experts = int(_need(model, "num_experts"))
        top_k = int(_need(model, "experts_per_token"))
        moe_width = _need(model, "moe_intermediate_size")
        first_dense = model.first_dense_layers or 0
        period = model.moe_layer_period or 1
        num_moe = ffn_blocks or (layers - first_dense) // period
        if num_moe < 1:
            raise CatalogError(
                f"models: {model.id}: first_dense_layers={first_dense} and "
                f"moe_layer_period={period} leave no MoE layer of {layers}"
            )
        routed = float(ffn_params(d, moe_width, gated, bias))
        if model.shared_expert_intermediate_size:
            shared_one = ffn_params(d, model.shared_expert_intermediate_size, gated, bias)
        else:
            shared_one = (model.num_shared_experts or 0) * ffn_params(d, moe_width, gated, bias)
        shared = float(shared_one * num_moe)
        router = float(num_moe * (d * num_experts + num_experts * bias))

    # with FFN blocks (P) the mixer blocks have no FFN: the P blocks are the MoE or dense ones
    dense_layers = (0 if num_moe else ffn_blocks) if ffn_blocks else layers - num_moe
    dense_ffn = 0.0
    if dense_layers:
        width = _need(model, "intermediate_size")
        dense_ffn = float(dense_layers * ffn_params(d, width, gated, bias))

    return ParamBreakdown(
        embedding=embedding,
        lm_head=lm_head,
        attention=attention,
        dense_ffn=dense_ffn,
        shared_experts=shared,
        routed_expert=routed,
        num_moe_layers=num_moe,
        norms_and_router=norms + router,
        num_experts=num_experts,
        experts_per_token=top_k,
        tie_word_embeddings=tied,
    )


def _need(model: Any, field: str) -> Any:
    """The value of a field the architecture requires, or a one-line CatalogError."""
    value = getattr(model, field, None)
    if value is None or value == 0:
        name = getattr(model, "id", "model")
        raise CatalogError(
            f"models: {name}: {field} is required for kind={model.kind!r}, "
            f"attention={model.attention!r}; got {value!r}"
        )
    return value
