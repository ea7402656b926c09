"""``hepatostat workbench PROJECT``: serve the review workbench (screening,
extraction, digitiser) in the browser."""

from __future__ import annotations

import ipaddress
import os

import click

from ..errors import InputError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_password(prompt: str = "Password", confirm: bool = False) -> str:
    """The password from ``HEPATOSTAT_PASSWORD`` (scripts) or a hidden prompt."""
    pw = os.environ.get("HEPATOSTAT_PASSWORD")
    if pw is not None:
        return pw
    import sys

    if not sys.stdin or not sys.stdin.isatty():
        raise InputError("a password is needed: set HEPATOSTAT_PASSWORD or run in a terminal")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


@click.command("workbench")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback (e.g. 0.0.0.0 for a lab network) needs accounts.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Extra host name the browser uses to reach the server (repeatable; the --host address is "
                   "always allowed).")
@click.option("--add-user", metavar="NAME", default=None,
              help="Create an account and exit (password from HEPATOSTAT_PASSWORD or a prompt).")
@click.option("--role", type=click.Choice(["reviewer", "adjudicator", "owner"]), default="reviewer",
              show_default=True, help="Role of the account made with --add-user.")
@click.option("--screeners", type=click.IntRange(min=2), default=2, show_default=True,
              help="Independent votes per record, for a project created here (new file).")
@click.option("--secure-cookies", is_flag=True, help="Mark the session cookie Secure (behind an HTTPS proxy).")
def workbench_cmd(project, host, port, allowed_hosts, add_user, role, screeners, secure_cookies):
    """Serve the review workbench for PROJECT (a .duckdb review project; created
    empty if missing) at http://HOST:PORT/.

    The server owns the project file while it runs: reviewers screen in the
    browser (any number at once); command-line screening commands wait for it.
    On the first visit from this machine you create the owner account; the
    owner adds reviewers and adjudicators on the Accounts page.

    \b
    Examples:
      hepatostat workbench project.duckdb
      HEPATOSTAT_PASSWORD=... hepatostat workbench project.duckdb --add-user YL --role reviewer
      hepatostat workbench project.duckdb --host 0.0.0.0 --port 8765 --allowed-host screening.lab.local
    """
    from ..web.app import create_app

    if add_user:
        from ..web.auth import Accounts
        from ..web.db import Store

        store = Store(project, screeners_per_record=screeners)
        try:
            Accounts(store).add(add_user, read_password(f"Password for {add_user}", confirm=True), role)
        finally:
            store.close()
        click.echo(f"account {add_user} ({role}) created in {project}")
        return
    hosts = set(LOOPBACK) | {host} | set(allowed_hosts)
    app = create_app(project, allowed_hosts=hosts, secure_cookies=secure_cookies, screeners_per_record=screeners)
    store = app.state.wb.store
    if not _is_loopback(host) and app.state.wb.accounts.count() == 0:
        store.close()
        raise InputError(f"--host {host} serves the workbench beyond this machine, which needs accounts: create the "
                         "owner first (hepatostat workbench PROJECT --add-user NAME --role owner), or serve on "
                         "127.0.0.1 and create it in the browser", file=project)
    import uvicorn

    shown = f"[{host}]" if ":" in host else host
    click.echo(f"hepatostat workbench: http://{shown}:{port}/  (project {project}; Ctrl+C stops)", err=True)
    config = uvicorn.Config(app, host=host, port=port, backlog=2048, timeout_keep_alive=5, limit_concurrency=512,
                            h11_max_incomplete_event_size=64 * 1024, log_level="warning", access_log=False,
                            server_header=False, lifespan="on")
    uvicorn.Server(config).run()
