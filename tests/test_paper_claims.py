"""experiments/paper_claims.py: every statement T1-T6 checks out."""
import os.path as osp
import sys

import pytest
from helpers.toy import ROOT

sys.path.insert(0, osp.join(ROOT, 'experiments'))
import paper_claims  # noqa: E402

#: end to end (training, fresh interpreters, full-size detectors)
pytestmark = pytest.mark.slow


def test_paper_claims_report(tmp_path):
    result = paper_claims.main(['--out', str(tmp_path)])
    report = (tmp_path / 'REPORT.md').read_text()
    assert 'does NOT hold' not in report
    assert (tmp_path / 'paper_claims.png').read_bytes()[:4] == b'\x89PNG'
    assert result['t2']['max_rel_err'] < 1e-12
    assert abs(result['t4']['r4'] / result['t4']['r4_pred'] - 1) < 0.05
    t6 = result['t6']
    assert t6['plain decay']['overflow_step'] is not None
    assert t6['eps-shifted']['overflow_step'] is None
    assert abs(t6['eps-shifted']['sigma'][-1][1] - 1e-3) < 1e-5
    assert t6['eps0_max_diff'] == 0.0
