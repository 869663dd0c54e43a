# Deletes a file (and its directory) outside its working directory by absolute path.
import os
import shutil

os.remove("__CANARY__")
shutil.rmtree(os.path.dirname("__CANARY__"))
