"""Entry point of the ``memspice`` command.

Each command module registers its commands on the app. Errors that memspice raises on purpose
are printed as one message (no traceback) with exit code 2 for bad input and 1 for a failed
computation; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from memspice import __version__
from memspice.errors import MemspiceError

# typer carries its own copy of click; its exception base class is reached through a public subclass
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

app = typer.Typer(
    name="memspice",
    help="SPICE-in-the-loop co-simulation of memristor compute-in-memory hardware.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: "[adc] table" must print as written, not as rich markup
)
characterize_app = typer.Typer(
    help="Characterize a device, a crossbar column or a Q-cell ADC with ngspice.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(characterize_app, name="characterize")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"memspice {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also print debugging messages.")] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print results, warnings and errors only: no "
                               "progress messages or bars."),
    ] = False,
) -> None:
    """memspice: from memristor compact models and Q-cell ADCs in ngspice to network accuracy."""
    from memspice.cli.common import configure_logging

    configure_logging(verbose=verbose, quiet=quiet)


def _register() -> None:
    from memspice.cli import commands

    commands.register(app, characterize_app)


_register()


def run(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app, turning memspice errors into one-line messages.

    A file that cannot be decoded or opened is a user's problem too (exit 2, one line naming the
    file) wherever it is met; an output folder this command created and left empty is removed.
    """
    from memspice.cli.common import remove_unused_out_dirs

    code = 0
    try:
        # not standalone: a usage error (unknown option, a value outside an option's choices, a missing
        # option) comes back here and is printed as one line like every other input error
        rv = app(args=argv, standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)  # as in standalone mode: the entry point always exits
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        raise
    except MemspiceError as err:
        code = err.exit_code
        _die(str(err), code)
    except _CLICK_ERROR as err:
        code = err.exit_code
        if type(err).__name__ == "NoArgsIsHelpError":  # a group called without a command: its help
            err.show()
            sys.exit(code)
        _die(" ".join(err.format_message().split()), code)
    except typer.Abort:  # end of input at a prompt
        code = 1
        _die("aborted", code)
    except UnicodeDecodeError as err:
        code = 2
        _die(f"an input file is not UTF-8 text (byte {err.start}: {err.object[err.start:err.start + 4]!r}); "
             "memspice reads TOML and CSV files as UTF-8", code)
    except (PermissionError, IsADirectoryError, NotADirectoryError) as err:
        code = 2
        what = {PermissionError: "permission denied", IsADirectoryError: "is a folder, expected a file",
                NotADirectoryError: "a part of the path is not a folder"}[type(err)]
        _die(f"{err.filename}: {what}", code)
    except KeyboardInterrupt:
        code = 130
        print("memspice: interrupted", file=sys.stderr)
        sys.exit(code)
    finally:
        if code:
            remove_unused_out_dirs()


def _die(message: str, code: int) -> None:
    print(f"memspice: error: {message}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
