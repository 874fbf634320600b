"""llmmeter for LangChain: cost and OpenTelemetry spans for every model call, chain, tool and agent.

    from llmmeter_langchain import LLMMeterCallbackHandler

    chain.invoke(inputs, config={"callbacks": [LLMMeterCallbackHandler()]})

or, with no handler to pass, ``llmmeter.instrument()``.
"""

from __future__ import annotations

from llmmeter_langchain._handler import LLMMeterCallbackHandler

__all__ = ["LLMMeterCallbackHandler"]
