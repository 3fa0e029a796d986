"""Excel workbooks and offline HTML pages of the stage artifacts; writers save atomically."""
