"""``actlab playground``: serve the live training page (FastAPI + uvicorn) on this machine."""
from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from actlab.cli.app import app, err_console, fail

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_listen(host: str, port: int) -> None:
    """Refuse an empty, unresolvable or foreign address, or a port in use, before the server starts."""
    import socket

    if not host.strip():
        fail("--host: empty address (give 127.0.0.1 for this machine only, 0.0.0.0 for every interface)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError, ValueError) as error:  # gaierror; the IDNA codec refuses overlong labels
        fail(f"--host {host[:80]!r}: not an address or host name this machine can resolve ({error})")
    probe = socket.socket(family, kind, proto)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
    finally:
        probe.close()


@app.command("playground")
def playground_command(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in your web browser.")] = False,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", metavar="NAME", help="Another host name the page may be opened under (repeatable; e.g. a DNS name of this "
        "machine). Always allowed: localhost, 127.0.0.1, [::1], the address listened on, and beyond loopback "
        "this machine's host names and the address a browser connected to.")] = None,
) -> None:
    """Train small nets live in your browser with any activation (like the TensorFlow Playground).

    Serves a local web page; training runs here, one session per browser tab.
    Only that page may use the server: a request under another host name or
    from another site's page is refused (403).  Ctrl-C stops the server.
    """
    try:
        import uvicorn

        from actlab.web.app import create_app
    except ImportError as error:
        fail(f"the playground needs fastapi and uvicorn ({error}); install them with pip install fastapi uvicorn")
    _check_listen(host, port)
    from actlab.web.guard import host_names, split_host

    for name in allow_host or ():
        parsed = split_host(name, None)
        if parsed is None or parsed[1] is not None:
            fail(f"--allow-host {name[:80]!r}: give a host name or address without scheme or port (e.g. mybox.lan)")
    names = host_names(host, tuple(allow_host or ()))
    if not is_loopback(host):
        err_console.print(
            f"[bold yellow]warning:[/] listening on {host}, not loopback: anyone who can reach this machine "
            "can use the playground (and its CPU). Use --host 127.0.0.1 to keep it local.", highlight=False)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    err_console.print(f"actlab playground at {url}  (Ctrl-C stops it)", highlight=False)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(create_app(names=names), host=host, port=port, log_level="warning", ws_max_size=1 << 20)
    server = uvicorn.Server(config)
    try:
        server.run()
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
    except KeyboardInterrupt:
        pass
    err_console.print("playground stopped", highlight=False)
