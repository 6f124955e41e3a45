import gc
import sys

from rag.cli import main

status = main()
# The process ends now. Interpreter shutdown would run garbage collections that scan every object
# still alive (LlamaIndex's classes and models, the loaded index), 0.3-0.4 s of a `rag ask` cold
# start, only to free memory that the end of the process frees anyway: frozen objects are skipped.
gc.freeze()
sys.exit(status)
