import network_guard

network_guard.install()
