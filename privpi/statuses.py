"""The project statuses of PEP 792 and what each does here (privpi.status applies them).

Names only, importing nothing: ``privpi status --help`` offers the choices without loading
the page machinery (issue 15).
"""

STATUSES = ("active", "archived", "deprecated", "quarantined")
NO_UPLOADS = ("archived", "quarantined")  # PEP 792: the index MUST NOT allow uploads
EFFECTS = {  # what each status does here, in one sentence (the console asks with it)
    "active": "It accepts uploads and serves its files.",
    "archived": "It accepts no uploads; its files are still served.",
    "deprecated": "Installers may warn; uploads and downloads go on as before.",
    "quarantined": "It accepts no uploads, lists no files, and its files answer 404.",
}
