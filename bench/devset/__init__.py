"""A scenario generator as lossdoctor's development set (issue 11).

Base training programs of many shapes (`bases.py`, rendered by `render.py`) get one fault each
from a list of operators (`faults_*.py`, several per cause id); a case keeps its healthy twin.
`validity.py` keeps a case only when the fault shows and the twin learns; `cases.py` splits the
cases by seed into a development and a test part. The command line is `bench/devset.py`."""
