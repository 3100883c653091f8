"""What the pad draws around the canvas: the one-digit panel (verdict, top 3, ten bars, what the
network sees or the preprocessing stages), the status bar and the help. Each function draws for
a PadApp `app` (its screen, reading, text and scale) and sizes everything from the space it has,
so the page fills a large window and still fits the smallest one."""
import time

import numpy as np
import pygame

from .theme import BAR, BG, DIM, PANEL, TEXT, WARN, WIN


def draw_digit_panel(app, reserve=0):
    """The verdict, the top 3, ten bars and what the network sees, sized to fill the panel
    (less `reserve` pixels at its bottom, kept for the personal strip)."""
    p, px = app.panel, app.px
    pad = px(12)
    x, y, w = p.x + pad, p.y + pad, p.w - 2 * pad
    digit, sentence = app.verdict()
    big = app.text(sentence, (x, y), px(34) if digit is not None else px(26), WIN if digit is not None else TEXT,
                   width=w, min_size=px(16))
    y = big.bottom + px(4)
    if app.probs is not None:
        top3 = "   ".join(f"{d}: {app.probs[d]:.1%}" for d in np.argsort(-app.probs)[:3])
        app.text("Top 3   " + top3, (x, y), px(22), DIM, width=w, min_size=px(14))
    y += px(22) + px(4)
    # What is left is shared by the bars and the 28x28 view (a caption and a square): the view
    # gets up to 40% of it, the bars at least a readable row each.
    room = p.bottom - pad - reserve - y
    caption = app.line_height(px(18)) + px(4)
    eye = int(min(w // 2, 0.42 * room, room - caption - 10 * px(14), px(320)))
    show_eye = eye >= px(40)
    row = (room - (eye + caption + px(8) if show_eye else 0)) // 10
    gap = max(2, row // 6)
    bar_h = max(4, min(row - gap, px(40)))
    draw_bars(app, x, y, w, bar_h, gap)
    y += 10 * (bar_h + gap) + px(8)
    if app.show_stages and app.stages is not None:
        draw_stages(app, x, y, w, p.bottom - reserve - pad - y)
    elif show_eye:
        app.text("What the network sees (28x28)   S: stages", (x, y), px(18), DIM, width=w, min_size=px(12))
        eye = min(eye, p.bottom - reserve - pad - y - caption)
        pygame.draw.rect(app.screen, DIM, (x - 1, y + caption - 1, eye + 2, eye + 2), 1)
        app.screen.blit(app.gray_surface(app.eye, (eye, eye)), (x, y + caption))


def draw_bars(app, x, y, w, bar_h, gap):
    """One bar per digit, the winner in orange, with its probability when there is room."""
    s, px = app.screen, app.px
    best = None if app.probs is None else int(np.argmax(app.probs))
    label_size = min(px(26), bar_h + px(8))
    label_w = app.text_width("0", label_size) + px(8)
    pct_w = app.text_width("100.0%", min(px(20), bar_h + px(6))) + px(8) if w >= px(200) else 0
    for d in range(10):
        prob = 0.0 if app.probs is None else float(app.probs[d])
        row_y = y + d * (bar_h + gap)
        app.text(str(d), (x, row_y + bar_h // 2), label_size, WIN if d == best else TEXT, "midleft")
        full = pygame.Rect(x + label_w, row_y, w - label_w - pct_w, bar_h)
        pygame.draw.rect(s, BG, full, border_radius=3)
        if prob > 0:
            pygame.draw.rect(s, WIN if d == best else BAR, (full.x, full.y, max(2, int(full.w * prob)), full.h),
                             border_radius=3)
        if app.probs is not None and pct_w:
            app.text(f"{prob:6.1%}", (full.right + px(4), row_y + bar_h // 2), min(px(20), bar_h + px(6)), TEXT,
                     "midleft", width=pct_w - px(4))


def draw_stages(app, x, y, w, room):
    """The preprocessing: the canvas, the crop, the fit into 20x20 and the centred 28x28."""
    names = [("input", "canvas"), ("crop", "crop"), ("fit", "fit 20x20"), ("centred", "centred 28x28")]
    px = app.px
    gap = px(6)
    title = app.line_height(px(18)) + px(2)
    label = app.line_height(px(16)) + px(2)
    side = int(min(px(200), (w - 3 * gap) // 4, room - title - label))
    app.text("Preprocessing stages   S: back", (x, y), px(18), DIM, width=w, min_size=px(12))
    if side < 12:
        return
    label_size = min(app.fit(name, px(16), side + gap, px(11))[1] for _, name in names)  # one size for all
    for i, (key, name) in enumerate(names):
        a = app.stages[key]
        box = pygame.Rect(x + i * (side + gap), y + title, side, side)
        pygame.draw.rect(app.screen, BG, box)
        h, wd = a.shape
        k = side / max(h, wd)
        size = (max(1, int(wd * k)), max(1, int(h * k)))
        app.screen.blit(app.gray_surface(a, size), (box.x + (side - size[0]) // 2, box.y + (side - size[1]) // 2))
        pygame.draw.rect(app.screen, DIM, box, 1)
        app.text(name, (box.centerx, box.bottom + 2), label_size, DIM, "midtop", width=side + gap)


def draw_status(app, hint):
    """The message, wrapped into the status bar in the largest font that holds all of it (an
    error names its fix, which must not be cut off), or else `hint`."""
    st, px = app.status, app.px
    if app.message and time.monotonic() < app.message_until:
        color = WARN if app.message_error else DIM
        lines, size = app.writer.paragraph(app.message, px(20), min(px(13), 13), st.w, st.h)
    else:
        color = DIM
        lines, size = app.writer.paragraph(hint + f"   brush {int(app.brush)}", px(18), min(px(12), 12), st.w, st.h)
    line_h = app.line_height(size)
    top = st.bottom - line_h * len(lines)
    for i, line in enumerate(lines):
        app.text(line, (st.x, top + i * line_h), size, color)


def draw_help(app, rows):
    """The keys, over a shaded window. rows: [(keys, what they do)]."""
    w, h = app.screen.get_size()
    px = app.px
    shade = pygame.Surface((w, h), pygame.SRCALPHA)
    shade.fill((0, 0, 0, 190))
    app.screen.blit(shade, (0, 0))
    box = pygame.Rect(0, 0, min(px(640), w - 32), min(px(64) + px(30) * len(rows), h - 32))
    box.center = (w // 2, h // 2)
    pygame.draw.rect(app.screen, PANEL, box, border_radius=10)
    margin = px(20)
    title = app.text("Controls", (box.x + margin, box.y + px(12)), px(32), WIN, width=box.w - 2 * margin)
    top = title.bottom + px(8)
    row = (box.bottom - px(8) - top) // len(rows)
    inner = box.w - 2 * margin
    for size in range(max(12, min(px(24), row)), 11, -1):  # one size for every row: the largest that fits
        keys_w = max(app.text_width(keys, size) for keys, _ in rows) + px(24)
        if keys_w + max(app.text_width(what, size) for _, what in rows) <= inner:
            break
    keys_w = min(keys_w, inner // 2)
    for i, (keys, what) in enumerate(rows):
        yy = top + row * i
        app.text(keys, (box.x + margin, yy), size, width=keys_w - px(8))
        app.text(what, (box.x + margin + keys_w, yy), size, DIM, width=inner - keys_w)
