"""Local Hugging Face transformers models, optionally with a PEFT LoRA adapter.

Spec: ``hf/PATH[:ADAPTER]`` where PATH is a local model folder or a hub id and ADAPTER a
folder written by peft (``fieldwise finetune`` writes one). Prompts are batched with
left padding so every row's continuation starts at the same position and one
``generate`` call serves the whole batch; decoding is greedy unless ``temperature`` > 0.
With ``constrained=true`` the task's JSON schema is enforced token by token (xgrammar).

torch, transformers and peft are imported only when the model loads, and loading waits
for the first batch, so a run whose predictions are all cached never touches the weights.
Generation runs in a worker thread so the runner's event loop stays responsive.
"""

from __future__ import annotations

import threading
import time
from typing import Any, ClassVar, Literal

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
from fieldwise.models._logprobs import logprob_recorder, signals_for_tokens
from fieldwise.models._model import Generation, ModelKind, ModelOptions
from fieldwise.models._prompted import LengthCounter, PromptedModel, PromptedOptions
from fieldwise.models.constrained import SchemaConstraint, require_xgrammar
from fieldwise.tasks import Example, Task

Dtype = Literal["auto", "float32", "float16", "bfloat16"]


class HFOptions(PromptedOptions):
    """Options for local transformers models (``--option key=value``)."""

    batch_size: int = Field(8, ge=1, description="rows per generate() call")
    device: str = "auto"
    dtype: Dtype = "auto"
    chat_template: ChatTemplateMode = "auto"
    constrained: bool = False
    revision: str | None = None
    trust_remote_code: bool = False
    seed: int = 0
    logprobs: bool = Field(
        True, description="record each output token's log-probability (confidence signal)"
    )


class HFModel(PromptedModel):
    """A transformers causal LM (plus optional LoRA adapter) generating in batches."""

    provider: ClassVar[str] = "hf"
    runs_on_ray: ClassVar[bool] = True
    kind: ClassVar[ModelKind] = "api"
    max_batch_size: ClassVar[int] = 8
    default_concurrency: ClassVar[int] = 1
    supports_schema: ClassVar[bool] = True
    constrained_options: ClassVar[dict[str, dict[str, Any]]] = {
        "on": {"constrained": True},
        "off": {"constrained": False},
    }
    Options = HFOptions  # type: ignore[assignment]

    @classmethod
    def kind_of(cls, name: str) -> ModelKind:
        return local_kind(name)

    def __init__(self, name: str, task: Task, options: ModelOptions | None = None) -> None:
        super().__init__(name, task, options)
        opts = self.hf_options
        for module in ("torch", "transformers"):
            require(module, "hf")
        self.base, self.adapter = split_model_spec(name)
        check_model_paths(self.base, self.adapter)
        self.kind = self.kind_of(name)  # type: ignore[misc]
        if self.adapter is not None:
            require("peft", "hf")
        if opts.constrained:
            require_xgrammar()
        self.max_batch_size = opts.batch_size  # type: ignore[misc]
        self.lengths = LengthCounter(self.spec)
        self.constraint: SchemaConstraint | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._chat = False
        self._eos_ids: list[int] = []
        self._lock = threading.Lock()
        self._identity: dict[str, Any] | None = None

    @property
    def hf_options(self) -> HFOptions:
        assert isinstance(self.options, HFOptions)
        return self.options

    def volatile_options(self) -> set[str]:
        # logprobs: recorded beside the output, never changing it.
        return {"batch_size", "device", "logprobs"}

    def identity(self) -> dict[str, Any]:
        """Options and prompt, plus a content fingerprint of base and adapter weights and
        the dtype actually used (``auto`` means bf16 on a GPU, fp32 on a CPU)."""
        if self._identity is None:
            ident = super().identity()
            ident["weights"] = weights_identity(self.base, self.adapter, self.hf_options.revision)
            ident["options"]["dtype"] = self._dtype_name()
            self._identity = ident
        return self._identity

    def prepare(self, train: list[Example]) -> None:
        super().prepare(train)
        self._identity = None  # the few-shot examples are part of the identity

    # ---- loading -------------------------------------------------------------------

    def _device(self) -> str:
        import torch

        if self.hf_options.device != "auto":
            return self.hf_options.device
        return "cuda" if torch.cuda.is_available() else "cpu"

    def _dtype_name(self) -> str:
        opts = self.hf_options
        if opts.dtype != "auto":
            return opts.dtype
        try:
            import torch
        except ModuleNotFoundError:
            return "auto"
        if self._device().startswith("cuda") and torch.cuda.is_bf16_supported():
            return "bfloat16"
        return "float32"

    def load(self) -> None:
        """Load tokenizer, base weights and adapter (idempotent, thread-safe)."""
        with self._lock:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        opts = self.hf_options
        common = {"revision": opts.revision, "trust_remote_code": opts.trust_remote_code}
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                tokenizer_source(self.base, self.adapter), **common
            )
            model = AutoModelForCausalLM.from_pretrained(
                self.base, dtype=getattr(torch, self._dtype_name()), **common
            )
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load model '{self.base}': {_first_line(exc)}") from exc
        if self.adapter is not None:
            model = self._apply_adapter(model)
        model.to(self._device()).eval()  # type: ignore[arg-type]
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._chat = use_chat_template(tokenizer, opts.chat_template)
        self._eos_ids = _eos_ids(model, tokenizer)
        if opts.constrained:
            vocab = int(model.config.get_text_config().vocab_size)
            self.constraint = SchemaConstraint(tokenizer, vocab, self.task.json_schema())
        self._tokenizer, self._model = tokenizer, model

    def _apply_adapter(self, model: Any) -> Any:
        """Attach the LoRA adapter and merge it: merged weights generate at base speed."""
        from peft import PeftModel

        assert self.adapter is not None
        try:
            peft_model = PeftModel.from_pretrained(model, self.adapter)
        except (OSError, ValueError, RuntimeError) as exc:
            msg = f"cannot load adapter '{self.adapter}' onto '{self.base}': {_first_line(exc)}"
            raise UserError(msg) from exc
        return peft_model.merge_and_unload()

    # ---- generation ----------------------------------------------------------------

    def prompt_text(self, example: Example) -> str:
        self.load()
        return render_local_prompt(self._tokenizer, self.messages(example), self._chat)

    async def generate(self, batch: list[Example]) -> list[Generation]:
        return await run_stoppable(lambda stop: self.generate_sync(batch, stop))

    def generate_sync(
        self, batch: list[Example], stop: threading.Event | None = None
    ) -> list[Generation]:
        """Generate for any number of examples, in chunks of ``batch_size``.

        Rows are sorted by prompt length first so each chunk pads as little as possible.
        Setting ``stop`` ends the generation at its next token (raising :class:`Stopped`).
        """
        self.load()
        prompts = [self.prompt_text(ex) for ex in batch]
        lengths = [
            len(self._tokenizer(p, add_special_tokens=not self._chat).input_ids) for p in prompts
        ]
        order = sorted(range(len(batch)), key=lambda i: lengths[i])
        results: list[Generation | None] = [None] * len(batch)
        size = self.hf_options.batch_size
        for start in range(0, len(order), size):
            idx = order[start : start + size]
            with self._lock:
                gens = self._generate_chunk([prompts[i] for i in idx], stop)
            for i, gen in zip(idx, gens, strict=True):
                results[i] = gen
        self.lengths.add([g.finish_reason for g in results if g is not None])
        return [g for g in results if g is not None]

    def _generate_chunk(
        self, prompts: list[str], stop: threading.Event | None = None
    ) -> list[Generation]:
        import torch
        from transformers import StoppingCriteriaList

        opts = self.hf_options
        tok = self._tokenizer
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=not self._chat)
        enc = enc.to(self._model.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": opts.max_tokens,
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": self._eos_ids,
        }
        if opts.temperature > 0:
            torch.manual_seed(opts.seed)
            kwargs.update(do_sample=True, temperature=opts.temperature, top_p=1.0, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        processors = [] if self.constraint is None else [self.constraint.processor()]
        recorder = logprob_recorder() if opts.logprobs else None
        if recorder is not None:
            processors.append(recorder)  # after the constraint's mask
        if processors:
            kwargs["logits_processor"] = processors
        if stop is not None:
            if stop.is_set():
                raise Stopped("stopped before generating")
            kwargs["stopping_criteria"] = StoppingCriteriaList([_stop_flag(stop)])
        start = time.perf_counter()
        with torch.inference_mode():
            out = self._model.generate(**enc, **kwargs)
        if stop is not None and stop.is_set():
            raise Stopped("stopped while generating")
        elapsed = time.perf_counter() - start
        prompt_len = enc["input_ids"].shape[1]
        input_tokens = enc["attention_mask"].sum(dim=1).tolist()
        logprobs = recorder.finish(out) if recorder is not None else None
        gens = []
        for i, (row, n_in) in enumerate(
            zip(out[:, prompt_len:].tolist(), input_tokens, strict=True)
        ):
            end = next((j for j, t in enumerate(row) if t in self._eos_ids), None)
            tokens = row if end is None else row[:end]
            finish = "stop" if end is not None or len(row) < opts.max_tokens else "length"
            text = tok.decode(tokens, skip_special_tokens=True)
            signals = None
            if logprobs is not None:
                signals = signals_for_tokens(tok, tokens, logprobs[i][: len(tokens)], text)
            gens.append(
                Generation(
                    output=text,
                    latency_s=elapsed / len(prompts),
                    input_tokens=int(n_in),
                    output_tokens=len(tokens),
                    finish_reason=finish,
                    signals=signals,
                )
            )
        return gens

    async def aclose(self) -> None:
        """Warn about cut-off outputs once, and free the weights."""
        self.lengths.warn()
        with self._lock:
            self._model = None
            self.constraint = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ModuleNotFoundError:
            pass


def _stop_flag(flag: threading.Event) -> Any:
    """A transformers stopping criterion that ends every row once ``flag`` is set."""
    import torch
    from transformers import StoppingCriteria

    class _StopFlag(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            rows, done = input_ids.shape[0], flag.is_set()
            return torch.full((rows,), done, dtype=torch.bool, device=input_ids.device)

    return _StopFlag()


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every token that ends a turn: the generation config's (Llama 3 has two) and the
    tokenizer's own EOS."""
    ids: list[int] = []
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.append(configured)
    elif configured:
        ids.extend(int(i) for i in configured)
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    return sorted(set(ids))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
