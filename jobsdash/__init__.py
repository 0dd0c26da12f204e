"""jobsdash: a dashboard of the Waylay Function Registry's background jobs (see README.md).

The apps, and which way their imports run: each app uses only the apps before it, never one after.

    tenants -> waylay -> jobs -> links -> live

- `tenants`: tenants, their credentials and memberships; who may see which tenant.
- `waylay`: the registry's API (client, query validation, errors), for the tenant it is given (it
  imports the Tenant model for type hints only).
- `jobs`: the job pages and API, the per-tenant cache, and who is looking at them
  (`jobs.viewers.Viewer`: a member, on the site or in an iframe), which decides links, scope and
  chrome. It knows nothing of signed links.
- `links`: permalinks, chat previews, framing, and signed embed links, whose visitor
  (`links.visitors.Visitor`) is a viewer of the job pages that `jobs.pages` renders.
- `live`: the websocket consumer and the relay of the upstream's event stream; which frames a
  socket may receive is the reach of who is looking (`jobs.viewers.Reach`).

Beside them: `ops` (health, metrics, logs, login throttling; `jobs` and `live` use it, it uses
only `waylay`),
`simulator` (a fake registry, imports nothing of the others but `tenants` for its demo) and
`bench` (drives a running jobsdash from outside, over HTTP and websockets).
"""
