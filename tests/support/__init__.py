"""Everything the tests share, one module per job; conftest.py turns them into fixtures.

- paths: where the repository, the seed texts and the offline guard are
- ports: a free port on 127.0.0.1
- seeds: copies of seeds/ in temporary folders, and the seed texts themselves
- settings: in-process Settings for the tests (the "tests" preset)
- environment: the environment of every subprocess the tests start (offline guard first on
  PYTHONPATH, this checkout's rag package, no RAG_* settings inherited from the caller)
- openai_server: a small OpenAI-protocol server on 127.0.0.1 (the only test double)
- app_server: ``python app.py`` as a real subprocess
- chroma_server: ``chroma run`` as a real subprocess
- offline_guard/: refuses every non-loopback connection (this process and subprocesses)
"""
