"""Runs a command in a new pseudo-terminal of ROWS x COLS and copies what it writes there to stdout.

Usage: python3 pty-run.py ROWS COLS CMD [ARGS...]; exits with the command's exit code.
Used by the tty tests (node has no pty of its own); only the standard library is needed.
"""
import fcntl
import os
import pty
import struct
import sys
import termios

rows, cols, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    # the child's stdin is the terminal: its size is what the command reads (and SIGWINCH re-reads)
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(argv[0], argv)
out = sys.stdout.buffer
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:  # EIO: the command and everything it started closed the terminal
        break
    if not data:
        break
    out.write(data)
    out.flush()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
