import pytest

import rayreact


@pytest.fixture
def rr():
    rayreact.init(num_cpus=2)
    yield rayreact
    rayreact.shutdown()
