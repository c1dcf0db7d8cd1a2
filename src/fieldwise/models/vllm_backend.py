"""Local models on vLLM's offline engine: fast batched GPU inference, LoRA, guided JSON.

Spec: ``vllm/PATH[:ADAPTER]``, read exactly like ``hf/`` (same split, same fingerprint,
same tokenizer and chat template, the adapter's own when its folder has one, same prompt
rendering and tokenisation), so the two backends answer the same prompt and differ only
in speed and numerics; the cache key records the dtype ``auto`` resolves to, since vLLM
and transformers resolve it differently (bf16 and fp32 on a CPU). The adapter is applied
per request with ``LoRARequest`` (not merged); ``constrained=true`` sends the task's JSON
schema as a vLLM structured-output grammar with no free whitespace, in the compact layout
``hf/`` enforces (``models/_vllm_json.py``: vLLM's own JSON grammar lets an untrained model
write spaces until ``max_tokens``). A prompt that does not fit ``max_model_len`` fails
its own row, not the batch. vLLM is imported only here and only when used.

For more than one GPU set ``tensor_parallel_size``/``pipeline_parallel_size``; for a
shared server run ``vllm serve`` and point the ``openai`` backend at it (``base_url``).
"""

from __future__ import annotations

import gc
import json
import threading
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from fieldwise.errors import UserError, require
from fieldwise.models._local import (
    ChatTemplateMode,
    Stopped,
    check_model_paths,
    local_kind,
    render_local_prompt,
    run_stoppable,
    split_model_spec,
    tokenizer_source,
    use_chat_template,
    weights_identity,
)
from fieldwise.models._model import Generation, ModelKind, ModelOptions
from fieldwise.models._prompted import LengthCounter, PromptedModel, PromptedOptions
from fieldwise.models._signals import ends_by_prefix, ends_from_pieces, token_signals
from fieldwise.models._vllm_json import compact_grammar
from fieldwise.tasks import Example, Task

LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
"""The LoRA ranks vLLM's kernels accept for ``max_lora_rank``."""


class VLLMOptions(PromptedOptions):
    """Options for the vLLM offline engine (``--option key=value``)."""

    batch_size: int = Field(256, ge=1, description="rows handed to the engine at once")
    dtype: str = "auto"
    chat_template: ChatTemplateMode = "auto"
    constrained: bool = False
    revision: str | None = None
    trust_remote_code: bool = False
    seed: int = 0
    tensor_parallel_size: int = Field(1, ge=1)
    pipeline_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = Field(None, ge=1)
    max_lora_rank: int | None = Field(None, ge=1)
    enforce_eager: bool = False
    logprobs: bool = Field(
        True, description="record each output token's log-probability (confidence signal)"
    )


class VLLMModel(PromptedModel):
    """A base model (plus optional LoRA adapter) served by an in-process ``vllm.LLM``."""

    provider: ClassVar[str] = "vllm"
    runs_on_ray: ClassVar[bool] = True
    kind: ClassVar[ModelKind] = "api"
    max_batch_size: ClassVar[int] = 256
    default_concurrency: ClassVar[int] = 1
    supports_schema: ClassVar[bool] = True
    constrained_options: ClassVar[dict[str, dict[str, Any]]] = {
        "on": {"constrained": True},
        "off": {"constrained": False},
    }
    Options = VLLMOptions  # type: ignore[assignment]

    @classmethod
    def kind_of(cls, name: str) -> ModelKind:
        return local_kind(name)

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        super().__init__(name, task, options)
        require("vllm", "vllm")
        opts = self.vllm_options
        self.base, self.adapter = split_model_spec(name)
        check_model_paths(self.base, self.adapter)
        self.kind = self.kind_of(name)  # type: ignore[misc]
        self.lora_rank = lora_rank(self.adapter, opts.max_lora_rank)
        self.max_batch_size = opts.batch_size  # type: ignore[misc]
        self.lengths = LengthCounter(self.spec)
        self._llm: Any = None
        self._tokenizer: Any = None
        self._chat = False
        self._max_len: int | None = None
        self._dtype: str | None = None
        self._lock = threading.Lock()

    @property
    def vllm_options(self) -> VLLMOptions:
        assert isinstance(self.options, VLLMOptions)
        return self.options

    def volatile_options(self) -> set[str]:
        return {
            "batch_size",
            "tensor_parallel_size",
            "pipeline_parallel_size",
            "gpu_memory_utilization",
            "enforce_eager",
            "max_model_len",
            "logprobs",  # recorded beside the output, never changing it
        }

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["weights"] = weights_identity(self.base, self.adapter, self.vllm_options.revision)
        ident["options"]["dtype"] = self.resolved_dtype()
        if self.vllm_options.constrained:
            ident["json_layout"] = "compact"
        return ident

    def resolved_dtype(self) -> str:
        """The dtype the engine runs in (``bfloat16``, not ``auto``), read from vLLM's own
        model config so that no weights load just to compute a cache key."""
        opts = self.vllm_options
        if self._dtype is None and opts.dtype != "auto":
            self._dtype = opts.dtype
        if self._dtype is None:
            if self._llm is not None:
                self._dtype = _dtype_name(self._llm.llm_engine.model_config.dtype)
            else:
                from vllm.config import ModelConfig

                try:
                    config = ModelConfig(
                        model=self.base,
                        tokenizer=tokenizer_source(self.base, self.adapter),
                        dtype="auto",
                        revision=opts.revision,
                        trust_remote_code=opts.trust_remote_code,
                    )
                except (OSError, ValueError) as exc:
                    raise UserError(f"vLLM cannot read '{self.base}': {exc}") from exc
                self._dtype = _dtype_name(config.dtype)
        return self._dtype

    def engine_args(self) -> dict[str, Any]:
        """Keyword arguments for ``vllm.LLM`` (exposed for tests and debugging)."""
        opts = self.vllm_options
        args: dict[str, Any] = {
            "model": self.base,
            "tokenizer": tokenizer_source(self.base, self.adapter),
            "revision": opts.revision,
            "dtype": opts.dtype,
            "seed": opts.seed,
            "trust_remote_code": opts.trust_remote_code,
            "tensor_parallel_size": opts.tensor_parallel_size,
            "pipeline_parallel_size": opts.pipeline_parallel_size,
            "gpu_memory_utilization": opts.gpu_memory_utilization,
            "enforce_eager": opts.enforce_eager,
        }
        if opts.max_model_len is not None:
            args["max_model_len"] = opts.max_model_len
        if self.adapter is not None:
            args.update(enable_lora=True, max_loras=1, max_lora_rank=self.lora_rank)
        return args

    def load(self) -> None:
        with self._lock:
            if self._llm is None:
                from vllm import LLM

                try:
                    llm = LLM(**self.engine_args())
                except (OSError, ValueError) as exc:
                    raise UserError(f"vLLM cannot load '{self.base}': {exc}") from exc
                self._tokenizer = llm.get_tokenizer()
                self._chat = use_chat_template(self._tokenizer, self.vllm_options.chat_template)
                self._max_len = _max_model_len(llm)
                self._llm = llm

    def sampling_params(self) -> Any:
        from vllm import SamplingParams

        opts = self.vllm_options
        kwargs: dict[str, Any] = {"temperature": opts.temperature, "max_tokens": opts.max_tokens}
        if opts.temperature > 0:
            kwargs["seed"] = opts.seed
        if opts.logprobs:
            kwargs["logprobs"] = 0  # the chosen token's only
        if opts.constrained:
            kwargs.update(self._structured_output)
        return SamplingParams(**kwargs)

    @cached_property
    def _structured_output(self) -> dict[str, Any]:
        return structured_output(self.task.json_schema())

    def lora_request(self) -> Any:
        if self.adapter is None:
            return None
        from vllm.lora.request import LoRARequest

        return LoRARequest("adapter", 1, str(Path(self.adapter).expanduser().resolve()))

    def prompt_ids(self, example: Example) -> list[int]:
        """Tokenised exactly as the hf backend does (no second BOS after a chat template)."""
        text = render_local_prompt(self._tokenizer, self.messages(example), self._chat)
        return list(self._tokenizer(text, add_special_tokens=not self._chat).input_ids)

    async def generate(self, batch: list[Example]) -> list[Generation]:
        return await run_stoppable(lambda stop: self.generate_sync(batch, stop))

    def generate_sync(
        self, batch: list[Example], stop: threading.Event | None = None
    ) -> list[Generation]:
        """One engine call for the rows that fit ``max_model_len``; a row that does not is
        that row's error (vLLM rejects the whole call for one such prompt).

        ``stop`` is checked between engine calls: one call cannot be interrupted, so a
        timed-out batch is finished (and kept, see ``run_stoppable``), never run twice.
        """
        self.load()
        ids = [self.prompt_ids(ex) for ex in batch]
        results: list[Generation | None] = [self._too_long(p) for p in ids]
        todo = [i for i, r in enumerate(results) if r is None]
        for i, gen in zip(todo, self._run([ids[i] for i in todo], stop), strict=True):
            results[i] = gen
        gens = [g for g in results if g is not None]
        self.lengths.add([g.finish_reason for g in gens if g.error is None])
        return gens

    def _too_long(self, prompt_ids: list[int]) -> Generation | None:
        if self._max_len is None or len(prompt_ids) < self._max_len:
            return None
        return Generation(
            None,
            error=f"prompt is {len(prompt_ids)} tokens; max_model_len is {self._max_len} "
            "and leaves no room to generate (raise max_model_len or shorten the input)",
            input_tokens=len(prompt_ids),
        )

    def _run(
        self, prompts: list[list[int]], stop: threading.Event | None = None
    ) -> list[Generation]:
        """Generate for prompts the engine should accept; if it still rejects the call
        (another per-request limit), each row is tried alone so only the culprit fails."""
        if not prompts:
            return []
        if stop is not None and stop.is_set():
            raise Stopped("stopped between engine calls")
        params, lora = self.sampling_params(), self.lora_request()
        try:
            with self._lock:
                outputs = self._llm.generate(
                    [{"prompt_token_ids": p} for p in prompts],
                    params,
                    lora_request=lora,
                    use_tqdm=False,
                )
        except (ValueError, _validation_error()) as exc:
            if len(prompts) == 1:
                return [Generation(None, error=f"vLLM rejected the prompt: {exc}")]
            return [gen for p in prompts for gen in self._run([p], stop)]
        return [self._generation(out) for out in outputs]

    def _generation(self, out: Any) -> Generation:
        choice = out.outputs[0]
        tokens = len(choice.token_ids)
        # vLLM's token_ids end with the EOS or stop token that ended the output; hf and
        # serve count only the tokens of the answer itself (a stop *string* stays counted).
        if (
            choice.finish_reason == "stop"
            and tokens
            and not isinstance(getattr(choice, "stop_reason", None), str)
        ):
            tokens -= 1
        return Generation(
            output=choice.text,
            input_tokens=len(out.prompt_token_ids or []),
            output_tokens=tokens,
            finish_reason=choice.finish_reason,
            signals=self._signals(choice, tokens),
        )

    def _signals(self, choice: Any, kept: int) -> dict[str, Any] | None:
        """The ``tokens`` signal from vLLM's per-position ``{token_id: Logprob}`` (the
        sampled token is always among them), for the ``kept`` tokens of the answer."""
        positions = getattr(choice, "logprobs", None)
        if not positions or choice.text is None:
            return None
        ids = list(choice.token_ids)[:kept]
        logprobs, pieces = [], []
        for k, token in enumerate(ids):
            entry = positions[k].get(token) if k < len(positions) else None
            if entry is None:
                return None
            logprobs.append(float(entry.logprob))
            pieces.append(getattr(entry, "decoded_token", None) or "")
        ends = ends_from_pieces(pieces, choice.text)
        if ends is None:
            decode = lambda p: self._tokenizer.decode(p, skip_special_tokens=True)  # noqa: E731
            ends = ends_by_prefix(decode, ids, choice.text)
        return token_signals(ends, logprobs)

    async def aclose(self) -> None:
        self.lengths.warn()
        with self._lock:
            self._llm = None
        gc.collect()


def _dtype_name(dtype: Any) -> str:
    """``torch.bfloat16`` → ``bfloat16`` (vLLM's model config holds a torch dtype)."""
    return str(dtype).removeprefix("torch.")


def _max_model_len(llm: Any) -> int | None:
    config = getattr(getattr(llm, "llm_engine", None), "model_config", None)
    value = getattr(config, "max_model_len", None)
    return value if isinstance(value, int) else None


def _validation_error() -> type[Exception]:
    """vLLM's per-request validation error (not a ValueError since 0.2x), if it has one."""
    try:
        from vllm.exceptions import VLLMValidationError
    except ImportError:
        return ValueError
    return VLLMValidationError  # type: ignore[no-any-return]


def structured_output(schema: dict[str, Any]) -> dict[str, Any]:
    """``SamplingParams`` keywords that enforce a JSON schema in the compact layout, for
    old and new vLLM.

    vLLM >= 0.10.2 takes ``structured_outputs=StructuredOutputsParams(grammar=...)`` (the
    ``guided_*`` names were removed in 0.12); older releases take ``guided_decoding``.
    """
    grammar = compact_grammar(schema, strict=True)
    try:
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(grammar=grammar)}
    return {"structured_outputs": StructuredOutputsParams(grammar=grammar)}


def lora_rank(adapter: str | None, requested: int | None) -> int:
    """The ``max_lora_rank`` to start the engine with: the option, else the adapter's own
    rank rounded up to one vLLM supports (its default of 16 rejects larger adapters)."""
    if requested is not None:
        return requested
    if adapter is None:
        return 16
    try:
        config = json.loads((Path(adapter).expanduser() / "adapter_config.json").read_text())
        rank = int(config.get("r", 16))
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(f"cannot read adapter_config.json in {adapter}: {exc}") from exc
    for supported in LORA_RANKS:
        if rank <= supported:
            return supported
    raise UserError(f"LoRA rank {rank} in {adapter} is above what vLLM supports (512)")
