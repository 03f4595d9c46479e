"""Edge: load the email templates from `templates/email/` and inline their CSS once, at load time.

HTML templates use comment-shaped block tags (`<!--% for x in xs %-->`) so that an HTML parser keeps them
in place: that lets css-inline rewrite each template's *source* once (styles from `email.css` become
`style=` attributes) instead of inlining every rendered message. Jinja caches the compiled result.
Rules for HTML templates: write `<tbody>` explicitly, keep `{{ }}` inside elements (never loose between
table rows), and use single quotes inside `{{ }}` that sit in attributes.

Inline styles are written minified, and once inlined a class only stays on an element when the layout's
own `<style>` block (media queries, which cannot be inlined) names it: every byte is repeated per call
and per member.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import css_inline
import jinja2

from calltracker.digest import TemplateSet

# `calltracker/_templates` links to the top-level templates/ folder, so a wheel carries it too.
TEMPLATES_DIR = Path(__file__).resolve().parent / "_templates" / "email"
STYLESHEET = "email.css"
LAYOUT = "_layout.html"

_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
_CLASS_NAME = re.compile(r"\.([A-Za-z_][\w-]*)")
_CLASS_ATTR = re.compile(r'\sclass="([^"{}]*)"')


def style_block_classes(layout_source: str) -> frozenset[str]:
    """The class names the layout's `<style>` blocks refer to."""
    return frozenset(name for block in _STYLE_BLOCK.findall(layout_source) for name in _CLASS_NAME.findall(block))


def keep_classes(source: str, keep: frozenset[str]) -> str:
    """Drop the class names `keep` does not list (their styles are inlined by now), and empty attributes."""
    def slim(m: re.Match[str]) -> str:
        names = [n for n in m.group(1).split() if n in keep]
        return f' class="{" ".join(names)}"' if names else ""
    return _CLASS_ATTR.sub(slim, source)


class InliningLoader(jinja2.FileSystemLoader):
    """A file loader whose `.html` sources come back with the shared stylesheet inlined."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self._css = (path / STYLESHEET).read_text(encoding="utf-8")
        layout = path / LAYOUT
        self._keep = style_block_classes(layout.read_text(encoding="utf-8")) if layout.exists() else frozenset()
        # The layout's <style> block is left as written (inline_style_tags=False): only email.css is inlined.
        self._inliner = css_inline.CSSInliner(extra_css=self._css, inline_style_tags=False, keep_style_tags=True,
                                              minify_css=True, load_remote_stylesheets=False)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if template.endswith(".html"):
            whole = "<html" in source
            source = self._inliner.inline(source) if whole else self._inliner.inline_fragment(source, "")
            source = keep_classes(source, self._keep)
        return source, filename, uptodate


def load_templates(path: Path | None = None) -> TemplateSet:
    """The text and HTML environments over `templates/email/` (or `path`).

    One set per process and folder, so a long-running process inlines and compiles each template once
    (about 0.15 s for the digest's): Jinja recompiles a template whose file changed, and a changed
    stylesheet or layout (read when the set is made) makes a new set.
    """
    folder = path or TEMPLATES_DIR
    stylesheet, layout = folder / STYLESHEET, folder / LAYOUT
    if not stylesheet.exists():
        raise FileNotFoundError(f"email templates not found in {folder}")
    return _load_templates(folder, stylesheet.stat().st_mtime_ns,
                           layout.stat().st_mtime_ns if layout.exists() else None)


@functools.lru_cache(maxsize=8)
def _load_templates(folder: Path, stylesheet_version: int, layout_version: int | None) -> TemplateSet:
    common = {"trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": False,
              "undefined": jinja2.StrictUndefined}
    text_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=False,  # noqa: S701
                                  **common)  # type: ignore[arg-type]
    html_env = jinja2.Environment(loader=InliningLoader(folder), autoescape=True,
                                  block_start_string="<!--%", block_end_string="%-->",
                                  comment_start_string="<!--#", comment_end_string="#-->", **common)  # type: ignore[arg-type]
    return TemplateSet(text=text_env, html=html_env)
