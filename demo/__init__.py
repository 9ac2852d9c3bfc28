"""Fictional demo data for `flask seed-demo`, kept out of the application package.

`seed` builds the demo cohort (with `evaluation` filling its feedback, CoPs and stories); `large`
adds a programme's worth of history for the benchmarks. The running application never imports
this package: only the `seed-demo` command does, when it runs. Every name here is invented.
"""
