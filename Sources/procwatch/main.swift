import ProcWatch
