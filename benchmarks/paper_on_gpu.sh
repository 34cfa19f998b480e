#!/usr/bin/env bash
# The paper profile on one GPU, in one sitting with a time budget: how the committed records
# under data/results/paper/ were made (book/reproducing.md, "Runs on a GPU").
#
#   benchmarks/paper_on_gpu.sh OUTDIR [TRAIN_SECONDS] [JOBS]
#
# 1. the machine and the software, into OUTDIR/device.txt;
# 2. the four synthetic twins and their 112x112 inputs (one CPU process per dataset), while
#    benchmarks/bench_model.py --cuda-only measures images/s on the GPU;
# 3. `learnet-lite reproduce --profile paper --protocols paper --models learnet resnet18`
#    with JOBS runs at once (seed 0 of every dataset and model first), stopped after
#    TRAIN_SECONDS: finished runs are recorded, a stopped one keeps its last checkpoint and
#    the same command with the same results folder resumes it;
# 4. the records, as OUTDIR/records.tgz.
# CUDA's multi-process service (MPS) lets the runs' small kernels share the GPU at once; it
# is started when present and a test client works, else the runs time-share the GPU.
# Env: PYTHON (default python3), PROFILE (paper), RESULTS (data/results/gpu), MODELS,
# PROTOCOLS, DEVICE (cuda), MPS=0 to leave MPS off.
set -u
OUT=${1:?usage: benchmarks/paper_on_gpu.sh OUTDIR [TRAIN_SECONDS] [JOBS]}
BUDGET=${2:-300}
JOBS=${3:-10}
PY=${PYTHON:-python3}
PROFILE=${PROFILE:-paper}
RESULTS=${RESULTS:-data/results/gpu}
MODELS=${MODELS:-learnet resnet18}
PROTOCOLS=${PROTOCOLS:-paper}
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
T0=$(date +%s)
since() { echo "$(( $(date +%s) - T0 )) s"; }

{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  $PY -c "import sys, torch, torchvision, numpy, pandas, cv2; print('python', sys.version.split()[0], '| torch', \
torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), '| torchvision', \
torchvision.__version__, '| numpy', numpy.__version__, '| pandas', pandas.__version__, '| opencv', cv2.__version__)"
  echo "commit ${LEARNET_COMMIT:-(git)}; jobs $JOBS; budget $BUDGET s; profile $PROFILE; models $MODELS; protocols $PROTOCOLS"
} 2>&1 | tee "$OUT/device.txt"

if [ "${MPS:-1}" = 1 ] && command -v nvidia-cuda-mps-control >/dev/null; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  if { nvidia-cuda-mps-control -d || pgrep -f "nvidia-cuda-mps-control -d" >/dev/null; } && timeout 60 $PY -c \
      "import torch; x = torch.ones(4096, device='cuda'); assert float(x.sum()) == 4096"; then
    echo "MPS on ($(since))" | tee -a "$OUT/device.txt"
  else
    echo quit | timeout 10 nvidia-cuda-mps-control
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "MPS off: it did not start or a test client failed ($(since))" | tee -a "$OUT/device.txt"
  fi
fi

for d in casme casme2 casme_sq smic; do
  $PY -c "from learnet_lite import experiment, profiles
p = experiment.prepare('$d', profiles.load('$PROFILE'), progress=False)
print('$d', p.info, p.images.shape)" >>"$OUT/prepare.log" 2>&1 &
done
$PY benchmarks/bench_model.py --cuda-only --seconds 2 --json "$OUT/bench_model_cuda.json" 2>&1 | tee "$OUT/bench.log"
wait
$PY -c "from learnet_lite import experiment, profiles
p = experiment.prepare('smic_2class', profiles.load('$PROFILE'), progress=False)
print('smic_2class', p.info, p.images.shape)" >>"$OUT/prepare.log" 2>&1  # reads the smic twin made above
echo "twins and inputs ready after $(since)" | tee -a "$OUT/prepare.log"

# shellcheck disable=SC2086
OMP_NUM_THREADS=2 timeout -k 20 --signal=INT "$BUDGET" $PY -m learnet_lite.cli reproduce --profile "$PROFILE" \
  --protocols $PROTOCOLS --models $MODELS --device "${DEVICE:-cuda}" --jobs "$JOBS" --results "$RESULTS" --resume \
  >"$OUT/reproduce.log" 2>&1
echo "reproduce exit $? after $(since)" | tee -a "$OUT/reproduce.log"
tail -c 3000 "$OUT/reproduce.log"
echo "records: $(find "$RESULTS" -name '*.json' | wc -l)"
tar czf "$OUT/records.tgz" --exclude=.checkpoints -C "$RESULTS" .
echo "done after $(since)"
