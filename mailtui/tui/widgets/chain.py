"""The certificate chain as a tree, from the leaf down to the root.

Each certificate is a node holding its fields; the certificate that issued
it hangs below it, so reading down the tree follows the chain the server
sent, leaf first. Every label is a `Text` built from untrusted data with
`render.literal`, never a string, because `Tree` would parse a string as
markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from mailtui.model import CertCheck, CertInfo
from mailtui.tui import render
from mailtui.tui.render import Palette


class ChainTree(Tree[CertInfo | None]):
    """Certificates as nodes (their `data`), fields as leaves."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("No certificate"), id=id)
        self.show_root = True

    def show_chain(self, check: CertCheck | None, palette: Palette) -> None:
        """Replace the tree with this chain."""
        self.clear()
        chain = check.chain if check else []
        count = len(chain)
        # The screen says in words that there is no certificate.
        self.display = bool(count)
        if not count:
            self.root.set_label(Text("The server sent no certificate", palette.muted))
            return
        plural = "s" if count > 1 else ""
        self.root.set_label(
            Text(f"Chain sent by the server: {count} certificate{plural}")
        )
        parent: TreeNode[CertInfo | None] = self.root
        for index, cert in enumerate(chain):
            node = parent.add(render.cert_title(cert, index), data=cert)
            for name, value in render.cert_fields(cert):
                node.add_leaf(render.field_line(name, value), data=None)
            node.expand()
            parent = node
        self.root.expand()

    @property
    def certificates(self) -> list[CertInfo]:
        """The certificates shown, leaf first."""
        found: list[CertInfo] = []
        node = self.root
        while True:
            certs = [child for child in node.children if child.data is not None]
            if not certs:
                return found
            node = certs[0]
            assert node.data is not None
            found.append(node.data)
