"""The Explore panel: a shot's latent map to hover, click, select and draw on, with decoded averages, medoids,
loops and the loss curves of trainings under way. Written against qtpy: PySide6 here and in Nuke 16, PySide2 in
Nuke 15 and older.

    from vsae.plugin.qt.explore_panel import ExplorePanel
    panel = ExplorePanel(ShotExplorer(entry), cache=ModelCache())   # a QWidget: dock it in Nuke, or show it

``vsae explore SHOT`` opens it standalone. All the work is in ``vsae.core.explore``; this file only draws and routes.
"""

from __future__ import annotations

import concurrent.futures
import time

import numpy as np
from qtpy import QtCore, QtGui, QtWidgets

Signal = QtCore.Signal


def to_pixmap(image: np.ndarray, height: int | None = None) -> QtGui.QPixmap:
    """(H, W, 3) scene-linear float -> a display (sRGB, 8-bit) pixmap, scaled to ``height`` if given."""
    from vsae.core.metrics import to_display

    rgb = (to_display(image) * 255.0 + 0.5).astype(np.uint8)
    h, w = rgb.shape[:2]
    # Written into the QImage's own memory: no Python buffer has to outlive the call behind the image's back.
    qimage = QtGui.QImage(w, h, QtGui.QImage.Format.Format_RGB32)
    try:
        pixels = np.frombuffer(qimage.bits(), np.uint8, count=qimage.sizeInBytes())
    except (TypeError, ValueError):  # a binding whose bits() is no buffer: copy through bytes instead
        qimage = QtGui.QImage(np.ascontiguousarray(rgb).tobytes(), w, h, 3 * w,
                              QtGui.QImage.Format.Format_RGB888).copy()
    else:
        bgra = pixels.reshape(h, qimage.bytesPerLine())[:, :4 * w].reshape(h, w, 4)
        bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = rgb[..., 2], rgb[..., 1], rgb[..., 0], 255
    pixmap = QtGui.QPixmap.fromImage(qimage)
    if height:
        pixmap = pixmap.scaledToHeight(height, QtCore.Qt.TransformationMode.SmoothTransformation)
    return pixmap


def time_colour(t: float) -> QtGui.QColor:
    """A colour along time, 0 (blue, first frame) to 1 (yellow, last)."""
    return QtGui.QColor.fromHsvF(0.66 - 0.5 * min(max(t, 0.0), 1.0), 0.85, 0.95)


class MapView(QtWidgets.QWidget):
    """The map: frames as dots coloured by time, joined in temporal order.

    Drag selects a rectangle (with Shift held: a lasso); a click picks the nearest frame; in draw mode a drag draws
    a trajectory. Coordinates given to the ``select_*``/``set_trajectory`` methods are map coordinates.
    """

    hovered = Signal(int)  # frame index under the cursor, -1 for none
    clicked = Signal(int)
    selected = Signal(list)  # frame indices
    drawn = Signal(list)  # trajectory points in map coordinates

    MARGIN = 16
    PICK_PX = 10

    def __init__(self, coords: np.ndarray, parent=None):
        super().__init__(parent)
        self.coords = np.asarray(coords, np.float64)[:, :2]
        self.selection: list[int] = []
        self.current = -1
        self.labels: np.ndarray | None = None
        self.trajectory: list[tuple[float, float]] = []
        self.overlay = np.zeros((0, 2))  # another shot's frames on this map (`vsae align`'s view)
        self.mode = "select"
        self._drag: list[QtCore.QPointF] = []
        self._lasso = False
        self.setMouseTracking(True)
        self.setMinimumSize(320, 240)
        lo, hi = self.coords.min(axis=0), self.coords.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        self._lo, self._span = lo - 0.05 * span, span * 1.1

    # --- coordinates ---------------------------------------------------------------------------------------------
    def to_widget(self, point) -> QtCore.QPointF:
        w, h = self.width() - 2 * self.MARGIN, self.height() - 2 * self.MARGIN
        u = (np.asarray(point, np.float64) - self._lo) / self._span
        return QtCore.QPointF(self.MARGIN + u[0] * w, self.MARGIN + (1.0 - u[1]) * h)

    def to_map(self, pos: QtCore.QPointF) -> tuple[float, float]:
        w, h = max(1, self.width() - 2 * self.MARGIN), max(1, self.height() - 2 * self.MARGIN)
        u = ((pos.x() - self.MARGIN) / w, 1.0 - (pos.y() - self.MARGIN) / h)
        return tuple(self._lo + np.asarray(u) * self._span)

    def nearest(self, pos: QtCore.QPointF, limit_px: float | None = None) -> int:
        points = np.array([[p.x(), p.y()] for p in (self.to_widget(c) for c in self.coords)])
        d = np.hypot(points[:, 0] - pos.x(), points[:, 1] - pos.y())
        i = int(np.argmin(d))
        return i if limit_px is None or d[i] <= limit_px else -1

    # --- selection (also what tests and scripts call) ------------------------------------------------------------
    def select_rect(self, x0: float, y0: float, x1: float, y1: float) -> list[int]:
        """Select the frames inside a map-coordinate rectangle."""
        (xa, xb), (ya, yb) = sorted((x0, x1)), sorted((y0, y1))
        c = self.coords
        return self._select(np.flatnonzero((c[:, 0] >= xa) & (c[:, 0] <= xb) & (c[:, 1] >= ya) & (c[:, 1] <= yb)))

    def select_polygon(self, points) -> list[int]:
        """Select the frames inside a map-coordinate polygon (a lasso)."""
        polygon = QtGui.QPolygonF([QtCore.QPointF(float(x), float(y)) for x, y in points])
        inside = [i for i, (x, y) in enumerate(self.coords)
                  if polygon.containsPoint(QtCore.QPointF(x, y), QtCore.Qt.FillRule.OddEvenFill)]
        return self._select(inside)

    def select_frames(self, indices) -> list[int]:
        """Select frames by index (a cluster, a script's choice)."""
        return self._select(indices)

    def _select(self, indices) -> list[int]:
        self.selection = [int(i) for i in indices]
        self.update()
        self.selected.emit(self.selection)
        return self.selection

    def set_trajectory(self, points) -> None:
        self.trajectory = [(float(x), float(y)) for x, y in points]
        self.update()
        self.drawn.emit(self.trajectory)

    def set_current(self, index: int) -> None:
        self.current = index
        self.update()

    def set_labels(self, labels: np.ndarray | None) -> None:
        self.labels = labels
        self.update()

    def set_overlay(self, coords: np.ndarray) -> None:
        """Another shot's frames at these map positions (M, 2+), drawn over the map as a white path of squares."""
        self.overlay = np.asarray(coords, np.float64)[:, :2]
        self.update()

    # --- events --------------------------------------------------------------------------------------------------
    def mousePressEvent(self, event):
        self._drag = [event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())]
        self._lasso = bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier)

    def mouseMoveEvent(self, event):
        pos = event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())
        if self._drag:
            self._drag.append(pos)
            self.update()
        else:
            self.hovered.emit(self.nearest(pos, self.PICK_PX))

    def mouseReleaseEvent(self, event):
        pos = event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())
        drag, self._drag = self._drag + [pos], []
        moved = max(abs(p.x() - drag[0].x()) + abs(p.y() - drag[0].y()) for p in drag)
        if moved < 4:
            index = self.nearest(pos, self.PICK_PX)
            if index >= 0:
                self.set_current(index)
                self.clicked.emit(index)
        elif self.mode == "draw":
            self.set_trajectory([self.to_map(p) for p in drag])
        elif self._lasso:
            self.select_polygon([self.to_map(p) for p in drag])
        else:
            (x0, y0), (x1, y1) = self.to_map(drag[0]), self.to_map(pos)
            self.select_rect(x0, y0, x1, y1)
        self.update()

    def paintEvent(self, _event):
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QtGui.QColor(38, 38, 42))
        pts = [self.to_widget(c) for c in self.coords]
        p.setPen(QtGui.QPen(QtGui.QColor(110, 110, 120), 1))
        p.drawPolyline(QtGui.QPolygonF(pts))  # the temporal path
        n = max(1, len(pts) - 1)
        chosen = set(self.selection)
        for i, q in enumerate(pts):
            if self.labels is not None:
                colour = QtGui.QColor.fromHsvF((int(self.labels[i]) * 0.61803) % 1.0, 0.7, 0.95)
            else:
                colour = time_colour(i / n)
            p.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255), 2) if i in chosen else QtCore.Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawEllipse(q, 4.0, 4.0)
        if len(self.overlay):
            others = [self.to_widget(c) for c in self.overlay]
            p.setPen(QtGui.QPen(QtGui.QColor(235, 235, 235), 1))
            p.drawPolyline(QtGui.QPolygonF(others))
            p.setBrush(QtGui.QColor(235, 235, 235))
            for q in others:
                p.drawRect(QtCore.QRectF(q.x() - 2.5, q.y() - 2.5, 5.0, 5.0))
        if 0 <= self.current < len(pts):
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.setPen(QtGui.QPen(QtGui.QColor(255, 80, 80), 2))
            p.drawEllipse(pts[self.current], 8.0, 8.0)
        if self.trajectory:
            p.setPen(QtGui.QPen(QtGui.QColor(255, 170, 40), 2))
            p.drawPolyline(QtGui.QPolygonF([self.to_widget(t) for t in self.trajectory]))
        if len(self._drag) > 1:
            p.setPen(QtGui.QPen(QtGui.QColor(230, 230, 230), 1, QtCore.Qt.PenStyle.DashLine))
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            if self.mode == "draw" or self._lasso:
                p.drawPolyline(QtGui.QPolygonF(self._drag))
            else:
                p.drawRect(QtCore.QRectF(self._drag[0], self._drag[-1]))
        p.end()


class CurveView(QtWidgets.QWidget):
    """Loss (and PSNR where reported) of the trainings under way in a model cache, polled from their progress logs:
    reading a small file every second keeps the panel responsive while another process trains."""

    def __init__(self, cache=None, parent=None, poll_ms: int = 1000):
        super().__init__(parent)
        self.cache = cache
        self.curves: dict = {}  # key -> list of records
        self.setMinimumHeight(120)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.poll)
        if cache is not None:
            self.timer.start(poll_ms)

    def poll(self) -> None:
        from vsae.core.progress import read_training_log

        if self.cache is None:
            return
        self.curves = {key: read_training_log(path) for key, path in self.cache.trainings()}
        self.update()

    def paintEvent(self, _event):
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(30, 30, 34))
        p.setPen(QtGui.QColor(200, 200, 200))
        if not any(self.curves.values()):
            p.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, "no training under way")
            p.end()
            return
        w, h, m = self.width(), self.height(), 8
        for n, (key, records) in enumerate(self.curves.items()):
            losses = [r["loss"] for r in records if "loss" in r]
            if len(losses) < 2:
                continue
            logs = np.log10(np.maximum(losses, 1e-6))
            lo, hi = logs.min(), max(logs.max(), logs.min() + 1e-6)
            pts = [QtCore.QPointF(m + (w - 2 * m) * i / (len(logs) - 1), m + (h - 2 * m) * (hi - v) / (hi - lo))
                   for i, v in enumerate(logs)]
            p.setPen(QtGui.QPen(QtGui.QColor.fromHsvF((0.15 + 0.3 * n) % 1.0, 0.8, 0.95), 2))
            p.drawPolyline(QtGui.QPolygonF(pts))
            last = records[-1]
            label = f"{last.get('label', key[:8])}  {100 * last.get('done', 0):.0f}%  loss {losses[-1]:.4f}"
            if "psnr" in last:
                label += f"  {last['psnr']:.2f} dB"
            p.setPen(QtGui.QColor(220, 220, 220))
            p.drawText(m, m + 14 * (n + 1), label)
        p.end()


class ExplorePanel(QtWidgets.QWidget):
    """The map beside the frame under the cursor, the selection's average and medoid, clusters and loops."""

    THUMB = 128

    def __init__(self, explorer, cache=None, parent=None):
        super().__init__(parent)
        self.explorer = explorer
        self.setWindowTitle(f"vsae explore: {explorer.label}")
        self.map = MapView(explorer.map.coords, self)
        self.frame_view = self._image_label("frame")
        self.average_view = self._image_label("average of selection")
        self.medoid_view = self._image_label("medoid of selection")
        self.pixel_mean_view = self._image_label("per-pixel mean of selection")
        self.info = QtWidgets.QLabel("hover or click a dot; drag to select (Shift: lasso)")
        self.info.setWordWrap(True)
        self.mode = QtWidgets.QComboBox()
        self.mode.addItems(["select", "draw"])
        self.mode.currentTextChanged.connect(self._set_mode)
        self.clusters = QtWidgets.QSpinBox()
        self.clusters.setRange(0, 32)
        self.clusters.setSpecialValueText("auto")
        cluster_button = QtWidgets.QPushButton("Cluster")
        cluster_button.clicked.connect(lambda: self.cluster(self.clusters.value() or None))
        loop_button = QtWidgets.QPushButton("Render loop")
        loop_button.clicked.connect(self.render_loop)
        save_button = QtWidgets.QPushButton("Save average...")
        save_button.clicked.connect(self._ask_save_average)
        curve_button = QtWidgets.QPushButton("Export curve...")
        curve_button.clicked.connect(self._ask_export_curve)
        self.curve = CurveView(cache, self)
        self.loop_frames: list[np.ndarray] = []
        self.selected_frames: list[int] = []
        self.average_image: np.ndarray | None = None
        self.medoid_index = -1
        self._loop_position = 0
        self._loop_timer = QtCore.QTimer(self)
        self._loop_timer.timeout.connect(self._next_loop_frame)
        # Decoding runs on one worker thread (torch and ONNX Runtime release the GIL), so the map stays live while
        # a frame or an average is decoded, even with a training in another process taking the cores.
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="vsae-explore")
        self._latest: dict[str, int] = {}
        self._pending: list = []
        self._collect_timer = QtCore.QTimer(self)
        self._collect_timer.timeout.connect(self._collect)

        controls = QtWidgets.QHBoxLayout()
        for widget in (QtWidgets.QLabel("mode"), self.mode, QtWidgets.QLabel("clusters"), self.clusters,
                       cluster_button, loop_button, save_button, curve_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        side = QtWidgets.QVBoxLayout()
        for caption, widget in (("frame (hover, click; the loop plays here)", self.frame_view),
                                ("average of the selection: decoded mean latent", self.average_view),
                                ("per-pixel mean of the same frames, for comparison", self.pixel_mean_view),
                                ("medoid of the selection", self.medoid_view)):
            side.addWidget(QtWidgets.QLabel(caption))
            side.addWidget(widget)
        side.addWidget(self.info)
        side.addStretch(1)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.map, 1)
        top.addLayout(side)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(top, 1)
        layout.addWidget(self.curve)

        self.map.hovered.connect(self.show_frame)
        self.map.clicked.connect(self.show_frame)
        self.map.selected.connect(self.show_selection)
        self.map.drawn.connect(lambda _points: self.info.setText("trajectory drawn: Render loop plays it, Export "
                                                                 "curve writes it for vsae retime"))

    def _image_label(self, title: str) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(title)
        label.setMinimumSize(self.THUMB * 2, self.THUMB)
        label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet("background: #222; color: #aaa")
        return label

    def _set_mode(self, mode: str) -> None:
        self.map.mode = mode

    def _submit(self, kind: str, compute, apply) -> None:
        """compute() on the worker thread, then apply(result) on this (the UI) thread; a newer request of the same
        kind supersedes an older one not yet started (hovering over many dots decodes only the last)."""
        token = self._latest[kind] = self._latest.get(kind, 0) + 1

        def job():
            return compute() if self._latest[kind] == token else None

        self._pending.append((kind, token, self._pool.submit(job), apply))
        if not self._collect_timer.isActive():
            self._collect_timer.start(10)

    def _collect(self) -> None:
        waiting = []
        for kind, token, future, apply in self._pending:
            if not future.done():
                waiting.append((kind, token, future, apply))
            elif token == self._latest[kind]:
                try:
                    apply(future.result())
                except Exception as exc:  # a failed decode is shown, not raised into Qt's event loop
                    self.info.setText(f"{kind}: {exc}")
        self._pending = waiting
        if not waiting:
            self._collect_timer.stop()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Process events until every decode asked for is shown (tests and scripts); False on time-out."""
        end = time.monotonic() + timeout
        while self._pending and time.monotonic() < end:
            QtWidgets.QApplication.processEvents()
            time.sleep(0.002)
        return not self._pending

    def show_frame(self, index: int) -> None:
        """The decoded frame at ``index`` in the preview (hover and click)."""
        if index < 0:
            return
        self.info.setText(f"frame {self.explorer.frames[index]}")
        self._submit("frame", lambda: self.explorer.image(index),
                     lambda image: self.frame_view.setPixmap(to_pixmap(image, self.THUMB)))

    def show_selection(self, indices: list) -> None:
        """Decoded average and medoid of the selected frames."""
        self.selected_frames = list(indices)
        if not indices:
            self.info.setText("nothing selected")
            return
        frames = [self.explorer.frames[i] for i in indices]
        self.info.setText(f"{len(frames)} frames selected ({frames[0]}..{frames[-1]}); decoding their average")

        def compute():
            medoid = self.explorer.medoid(indices)
            return (self.explorer.average(indices), medoid, self.explorer.pixel_mean(indices),
                    self.explorer.image(medoid))

        def apply(result):
            self.average_image, self.medoid_index, pixel_mean, medoid_image = result
            self.average_view.setPixmap(to_pixmap(self.average_image, self.THUMB))
            self.pixel_mean_view.setPixmap(to_pixmap(pixel_mean, self.THUMB))
            self.medoid_view.setPixmap(to_pixmap(medoid_image, self.THUMB))
            self.info.setText(f"{len(frames)} frames selected ({frames[0]}..{frames[-1]}); medoid frame "
                              f"{self.explorer.frames[self.medoid_index]}")

        self._submit("selection", compute, apply)

    def overlay_codes(self, latents: np.ndarray, label: str = "another shot") -> np.ndarray:
        """Another shot's codes (M, 12k, h, w; encoded by this shot's model at its training size) drawn over the map;
        returns their map positions. A shot the model cannot represent bunches up (``vsae align``'s collapse)."""
        coords = self.explorer.map.project(latents)
        self.map.set_overlay(coords)
        self.info.setText(f"{label}: {len(coords)} frames drawn over the map (white)")
        return coords

    def save_average(self, path: str) -> str:
        """Write the selection's average (as shown, at the model's training size) to ``path`` (EXR, PNG, ...), with
        what made it; returns the path. ParameterError when nothing is selected yet."""
        import json

        from vsae import __version__
        from vsae.core.io.output_files import check_outputs
        from vsae.core.io.sequence import Frame, check_image_extension, write_image
        from vsae.errors import ParameterError

        if self.average_image is None or not self.selected_frames:
            raise ParameterError("save average: select frames on the map first")
        check_image_extension(path)
        check_outputs([path], [])
        frames = [self.explorer.frames[i] for i in self.selected_frames]
        provenance = {"vsae:version": __version__, "vsae:node": "average",
                      "vsae:parameters": json.dumps({"select": frames, "iterations": 3}),
                      "vsae:model": getattr(self.explorer.entry, "key", "") or ""}
        write_image(path, Frame(rgb=self.average_image, pixel_type="float"), provenance=provenance)
        self.info.setText(f"saved the average of {len(frames)} frames to {path}")
        return path

    def _ask_save_average(self) -> None:
        from vsae.errors import VsaeError

        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the selection's average", "average.exr",
                                                        "Images (*.exr *.png *.tif *.jpg)")
        if path:
            try:
                self.save_average(path)
            except VsaeError as exc:
                self.info.setText(str(exc))

    def export_curve(self, path: str, output_first: int | None = None) -> list[int]:
        """Write the drawn path as a frame curve Retime renders at plate resolution (``vsae retime PLATES --timing
        curve --curve PATH``): output frame ``output_first`` + i (default: the shot's first frame number) shows the
        i-th source frame the path passes. Returns those frame numbers; ParameterError when nothing is drawn."""
        from vsae.core.explore import frame_curve, trajectory_frames
        from vsae.core.io.output_files import check_outputs, write_text_atomic
        from vsae.errors import ParameterError

        if not self.map.trajectory:
            raise ParameterError("export curve: draw a path on the map first (mode: draw)")
        check_outputs([path], [])
        frames = [int(self.explorer.frames[i]) for i in trajectory_frames(self.explorer.map, self.map.trajectory)]
        first = int(self.explorer.frames[0]) if output_first is None else output_first
        write_text_atomic(path, frame_curve(frames, first))
        self.info.setText(f"wrote a frame curve of {len(frames)} frames to {path}: vsae retime --timing curve "
                          f"--curve {path}")
        return frames

    def _ask_export_curve(self) -> None:
        from vsae.errors import VsaeError

        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export the drawn path as a frame curve", "path.curve",
                                                        "Frame curves (*.curve *.txt)")
        if path:
            try:
                self.export_curve(path)
            except VsaeError as exc:
                self.info.setText(str(exc))

    def cluster(self, k: int | None = None) -> np.ndarray:
        labels, meds = self.explorer.clusters(k)
        self.map.set_labels(labels)
        self.info.setText(f"{int(labels.max()) + 1} clusters; medoids at frames "
                          f"{', '.join(str(self.explorer.frames[m]) for m in meds)}")
        return labels

    def render_loop(self, length: int | None = None) -> list[np.ndarray]:
        """The drawn trajectory's frames, decoded with latent blends between them, played in the frame view."""
        from vsae.core.explore import trajectory_frames

        if not self.map.trajectory:
            self.info.setText("draw a trajectory first (mode: draw)")
            return []
        path = trajectory_frames(self.explorer.map, self.map.trajectory)
        steps = []
        for a, b in zip(path, path[1:] + path[:1]):  # back to the start: it loops
            steps.extend([(a, b, 0.0), (a, b, 0.5)])
        self.loop_frames = self.explorer.render_steps(steps[:length] if length else steps)
        self._loop_position = 0
        self._loop_timer.start(1000 // 24)
        self.info.setText(f"loop of {len(self.loop_frames)} frames through source frames "
                          f"{', '.join(str(self.explorer.frames[i]) for i in path[:12])}"
                          f"{' ...' if len(path) > 12 else ''}")
        return self.loop_frames

    def stop(self) -> None:
        """Stop the loop playback, the training poll and the decoding thread (before the panel goes away)."""
        self._loop_timer.stop()
        self.curve.timer.stop()
        self._collect_timer.stop()
        self._pending = []
        self._pool.shutdown(wait=True, cancel_futures=True)

    def closeEvent(self, event):
        self.stop()
        super().closeEvent(event)

    def _next_loop_frame(self) -> None:
        if not self.loop_frames:
            self._loop_timer.stop()
            return
        self.frame_view.setPixmap(to_pixmap(self.loop_frames[self._loop_position % len(self.loop_frames)],
                                            self.THUMB))
        self._loop_position += 1
