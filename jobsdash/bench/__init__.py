"""The benchmark app: `manage.py bench` (its command) is a client tool that starts the simulator
and ONE daphne process as subprocesses on 127.0.0.1, drives them with httpx and websockets, and
prints tables.

Modes (one module each): `pages` (warm/cold list page and API against a trivial view),
`fanout` (1,000 websockets against a bare `websockets` broadcast server) and `soak` (sockets
plus steady requests for minutes). `harness` starts and always stops the processes.

The only place that imports load-testing libraries (websockets, psutil: requirements-dev.txt),
and only once the command runs: the rest of the site never imports this package's modules.
`views` is served only with JOBSDASH_BENCH_VIEWS=1 or DEBUG.
"""
