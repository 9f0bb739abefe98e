"""The suite itself must not reach the network: pytest-socket blocks every other host."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


@pytest.mark.parametrize("address", [("93.184.216.34", 80), ("10.0.0.1", 443)])
def test_connection_to_an_outside_host_fails(address: tuple[str, int]) -> None:
    with (pytest.warns(UserWarning, match="tried to use socket"),
          pytest.raises(SocketConnectBlockedError)):
        socket.create_connection(address, timeout=1)
