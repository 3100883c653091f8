"""Text on the pad: fonts by size, a line made to fit a width, a paragraph wrapped into a box.

A line that is too wide is first drawn in a smaller font (down to a floor), and only then
shortened with an ellipsis; a paragraph is wrapped at spaces, in the largest font at which all
of it fits its box, so a message is cut only when even the smallest font cannot hold it.
"""
import pygame

from .theme import TEXT


class Text:
    """Fonts and rendered lines for one pad, kept: rendering a line costs more than drawing it,
    and the same words are drawn every frame."""

    def __init__(self):
        self.fonts, self.rendered = {}, {}

    def font(self, size):
        """The default font at `size` pixels."""
        if size not in self.fonts:
            self.fonts[size] = pygame.font.Font(None, max(int(size), 1))
        return self.fonts[size]

    def fit(self, s, size, width, min_size=None):
        """(text, font size) that fit in `width` pixels: the font shrunk down to `min_size` if
        that is enough, else the text shortened with an ellipsis."""
        for sz in range(size, (min_size or size) - 1, -2):
            if self.font(sz).size(s)[0] <= width:
                return s, sz
        sz = min_size or size
        lo, hi = 0, len(s)  # the longest prefix that fits with "..." after it
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.font(sz).size(s[:mid].rstrip() + "...")[0] <= width:
                lo = mid
            else:
                hi = mid - 1
        return (s[:lo].rstrip() + "..." if lo else ""), sz

    def choose(self, options, size, width, min_size):
        """The first of `options` (longest first: "Your set  0:3 1:2 ...", "Your set: 14
        drawings") that fits `width` at a font no smaller than `min_size`; else the last one."""
        for s in options:
            if self.fit(s, size, width, min_size)[0] == s:
                return s
        return options[-1]

    def wrap(self, s, size, width, max_lines):
        """`s` broken at spaces into at most `max_lines` lines of `width` pixels, the last one
        shortened with an ellipsis if the text does not end there."""
        lines, words = [], s.split()
        while words and len(lines) < max_lines:
            n = 1
            while n < len(words) and self.font(size).size(" ".join(words[:n + 1]))[0] <= width:
                n += 1
            lines.append(" ".join(words[:n]))
            words = words[n:]
        if words:
            lines[-1] = lines[-1] + " " + " ".join(words)
        return [self.fit(line, size, width)[0] for line in lines]

    def line_height(self, size):
        return self.font(size).get_linesize()

    def paragraph(self, s, size, min_size, width, height):
        """(lines, font size): `s` wrapped into a `width` x `height` box in the largest font from
        `size` down to `min_size` that holds all of it; at `min_size`, the last line that fits
        ends in an ellipsis."""
        for sz in range(size, min_size - 1, -1):
            max_lines = max(1, height // self.line_height(sz))
            lines = self.wrap(s, sz, width, max_lines)
            if not lines or not lines[-1].endswith("...") or s.endswith("..."):
                return lines, sz
        return self.wrap(s, min_size, width, max(1, height // self.line_height(min_size))), min_size

    def draw(self, surface, s, pos, size=24, color=TEXT, anchor="topleft", width=None, min_size=None):
        """Draw `s` on `surface`; with `width`, made to fit it (see fit). Returns the rectangle drawn."""
        size = int(size)
        if width is not None:
            s, size = self.fit(s, size, max(width, 0), None if min_size is None else int(min_size))
        key = (s, size, color)
        surf = self.rendered.get(key)
        if surf is None:
            if len(self.rendered) > 2000:
                self.rendered.clear()
            surf = self.rendered[key] = self.font(size).render(s, True, color)
        r = surf.get_rect(**{anchor: pos})
        surface.blit(surf, r)
        return r
