"""A layout that places its widgets left to right and wraps onto a new row where the width
runs out, so a panel's tool bar takes two rows in a narrow dock instead of widening it (and
squeezing the docks beside it). Keep things that belong together (a label and its box) in one
small widget: each item moves as a whole."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    # ------------------------------------------------------------------ QLayout's interface
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def add_widgets(self, *widgets: QWidget) -> None:
        for widget in widgets:
            self.addWidget(widget)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), place=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, place=True)

    def minimumSize(self) -> QSize:
        """As narrow as the widest item: everything else wraps."""
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    # ------------------------------------------------------------------ placing
    def _shown(self) -> list[QLayoutItem]:
        # A hidden widget takes no room (QWidgetItem.isEmpty is true for it).
        return [item for item in self._items if not item.isEmpty()]

    def _arrange(self, rect: QRect, place: bool) -> int:
        """Lay the items out in `rect`'s width (moving them only if `place`); the height used."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        rows: list[list[tuple[QLayoutItem, int]]] = [[]]
        x = area.x()
        for item in self._shown():
            # An item gets its preferred width, or the whole row where that is too wide.
            width = max(min(item.sizeHint().width(), area.width()), item.minimumSize().width())
            if rows[-1] and x + width > area.right() + 1:  # no room left: a new row
                rows.append([])
                x = area.x()
            rows[-1].append((item, width))
            x += width + self._gap
        y = area.y()
        for row in rows:
            height = max((item.sizeHint().height() for item, _ in row), default=0)
            x = area.x()
            for item, width in row:
                if place:  # centred in its row: a check box beside a combo box
                    item_height = item.sizeHint().height()
                    top = y + (height - item_height) // 2
                    item.setGeometry(QRect(QPoint(x, top), QSize(width, item_height)))
                x += width + self._gap
            y += height + self._gap
        return max(y - self._gap - rect.y() + margins.bottom(), 0)


def group(*widgets: QWidget, name: str = "") -> QWidget:
    """Widgets kept side by side on one row of a flow (a label and what it labels)."""
    holder = QWidget(objectName=name) if name else QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(4)
    for widget in widgets:
        row.addWidget(widget)
    return holder
