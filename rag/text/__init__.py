"""Language handling: detection, stemming and compounds, token counts, the German-English dictionary, glosses."""
