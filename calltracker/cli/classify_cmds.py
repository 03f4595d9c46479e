"""`calltracker classify` and `calltracker eval`: run the rule-based classifier without a database."""

from __future__ import annotations

import json
from collections import Counter
from typing import IO, Any

import click

from calltracker.classify import CallText, Classification, Document, classify, explain
from calltracker.errors import InputError
from calltracker.evaluation import (
    Prediction,
    evaluate,
    format_report,
    load_labelled,
    load_predictions,
    stored_predictions,
)


def _explain_stored_call(ctx: click.Context, call_ref: str) -> None:
    """Classify a stored call afresh and print every rule that fired (and the JSON result without --explain)."""
    from calltracker.cli.context import state
    from calltracker.tagging import explain_stored_call

    text, result = explain_stored_call(state().app.store, call_ref)
    if ctx.params.get("show_explain"):
        click.echo(text)
    else:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))


def _call_from(record: Any) -> CallText:
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in ("id", "title", "text")
               if not isinstance(record.get(k), str) and not (k == "id" and isinstance(record.get(k), int))]
    if missing:
        raise ValueError(f"missing or invalid {', '.join(missing)}")
    optional = {k: record.get(k) for k in ("identifier", "programme", "language", "source")}
    bad = [k for k, v in optional.items() if v is not None and not isinstance(v, str)]
    if bad:
        raise ValueError(f"{', '.join(bad)} must be a string")
    return CallText(id=str(record["id"]), title=record["title"], text=record["text"],
                    identifier=optional["identifier"], programme=optional["programme"],
                    language=optional["language"], source=optional["source"],
                    documents=_documents(record.get("documents")))


def _documents(value: Any) -> tuple[Document, ...]:
    """`documents`: a list of {name, url, pages: [text of page 1, ...]} (optional)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("documents must be a list")
    docs = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
                or not isinstance(item.get("pages", []), list) \
                or not all(isinstance(p, str) for p in item.get("pages", [])):
            raise ValueError(f"document {i} must have a name and a list of page texts")
        docs.append(Document(item["name"], str(item.get("url") or ""), tuple(item.get("pages", []))))
    return tuple(docs)


@click.command("classify")
@click.argument("call", required=False)
@click.option("--jsonl", "jsonl", type=click.File("r", encoding="utf-8"),
              help="Classify the calls of a JSON-lines file ('-' for stdin): one JSON result per line.")
@click.option("--explain", "show_explain", is_flag=True, help="Explain every rule that fired.")
@click.pass_context
def classify_command(ctx: click.Context, call: str | None, jsonl: IO[str] | None, show_explain: bool) -> None:
    """Tag themes, eligible regions and tri-regional fit of calls.

    With --jsonl, read objects with id, title, text and optional identifier, programme, language, source and
    documents ([{name, url, pages: [page text, ...]}]); no database is needed. With CALL, classify a stored call.
    """
    if call is not None and jsonl is not None:
        raise click.UsageError("give either CALL or --jsonl, not both")
    if call is not None:
        _explain_stored_call(ctx, call)
        return
    if jsonl is None:
        raise click.UsageError("give CALL or --jsonl FILE")
    bad = 0
    out: list[str] = []  # written in batches: one write per line costs more than classifying it
    for number, line in enumerate(jsonl, 1):
        if not line.strip():
            continue
        try:
            item = _call_from(json.loads(line))
        except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            bad += 1
            click.echo(f"line {number}: skipped, {exc}", err=True)
            continue
        result = classify(item)
        if show_explain:
            _flush(out)
            click.echo(explain(result), err=True)
        out.append(json.dumps(result.to_json(), ensure_ascii=False))
        if len(out) >= 256:
            _flush(out)
    _flush(out)
    if bad:
        click.echo(f"{bad} bad line(s) skipped", err=True)
        ctx.exit(1)


def _flush(lines: list[str]) -> None:
    if lines:
        click.echo("\n".join(lines))
        lines.clear()


@click.command("eval")
@click.argument("files", nargs=-1, required=True, type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--min-macro-f1", type=click.FloatRange(0, 1), default=None,
              help="Exit 1 when the themes macro-F1 is below this value (for CI).")
@click.option("--quiet-errors", is_flag=True, help="Do not list the calls with a wrong field.")
@click.option("--save-predictions", "save_to", type=click.File("w", encoding="utf-8"), default=None,
              help="Also write what the classifier said of each call (JSON lines, with the rules version), to be "
                   "scored again later with --predictions.")
@click.option("--predictions", "stored", multiple=True, type=click.File("r", encoding="utf-8"),
              help="Score these stored predictions (--save-predictions files; repeatable) instead of classifying: "
                   "a blind score taken with earlier rules, again or joined with other sets.")
@click.pass_context
def eval_command(ctx: click.Context, files: tuple[IO[str], ...], as_json: bool, min_macro_f1: float | None,
                 quiet_errors: bool, save_to: IO[str] | None, stored: tuple[IO[str], ...]) -> None:
    """Score the classifier on labelled JSON-lines files (the labelled/dev.jsonl format); several files are scored
    as one set."""
    try:
        items = [item for file in files for item in load_labelled(file)]
        twice = sorted(i for i, n in Counter(it.call.id for it in items).items() if n > 1)
        if twice:  # stored predictions are matched by id
            raise InputError(f"call id(s) in more than one record: {', '.join(twice[:5])}")
        if stored:
            predictions: list[Classification | Prediction] = list(stored_predictions(
                items, {k: v for file in stored for k, v in load_predictions(file).items()}))
        else:
            predictions = [classify(it.call) for it in items]
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    if not items:
        raise click.ClickException("no labelled calls in the file")
    if save_to is not None:
        for p in predictions:
            save_to.write(json.dumps((p if isinstance(p, Prediction) else Prediction.of(p)).to_json(),
                                     ensure_ascii=False) + "\n")
    report = evaluate(items, predictions)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(report, show_errors=not quiet_errors))
    if min_macro_f1 is not None and report.macro_f1 < min_macro_f1:
        click.echo(f"themes macro-F1 {report.macro_f1:.3f} is below {min_macro_f1:.3f}", err=True)
        ctx.exit(1)

