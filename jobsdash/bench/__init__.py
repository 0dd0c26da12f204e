"""The benchmark behind `manage.py bench`: a client tool that starts the simulator and ONE daphne
process as subprocesses on 127.0.0.1, drives them with httpx and websockets, and prints tables.

Modes (one module each): `pages` (warm/cold list page and API against a trivial view),
`fanout` (1,000 websockets against a bare `websockets` broadcast server) and `soak` (sockets
plus steady requests for minutes). `harness` starts and always stops the processes.
Nothing here is imported by the app; `views` is served only with JOBSDASH_BENCH_VIEWS=1 or DEBUG.
"""
