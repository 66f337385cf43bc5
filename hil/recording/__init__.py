"""Run recordings as MCAP files: one writer thread behind a bounded queue (``writer``), a reader
that streams by topic and time range (``reader``), recovery of a file whose writer was killed
(``recover``), pacing of recorded messages against a clock (``player``), and the display topics as
Foxglove well-known schemas (``foxglove``). The file layout is in docs/recording.md.
"""
